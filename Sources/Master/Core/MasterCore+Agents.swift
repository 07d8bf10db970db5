import AgoraProto
import Messaging
import Resources

extension MasterCore {
    // MARK: - Registration

    mutating func registerAgent(_ message: Agora_V1_RegisterAgent, from peer: PeerID, now: Duration) {
        guard let (total, attributes) = validateAgentInfo(message.agentInfo, peer: peer) else { return }
        if !message.registrationToken.isEmpty, let known = agentsByRegistrationToken[message.registrationToken],
           var agent = agents[known], agent.info.hostname == message.agentInfo.hostname, agent.bootID == message.bootID {
            // A retry of a registration already admitted (the answer was slow or lost):
            // the same agent, not a second one.
            agent.peer = peer
            agents[known] = agent
            var reply = Agora_V1_AgentRegistered()
            reply.agentID.value = known
            reply.masterInfo = masterInfo
            reply.pingIntervalSeconds = configuration.agentPingTimeout.seconds
            reply.registrationToken = message.registrationToken
            var envelope = Agora_V1_Envelope()
            envelope.agentRegistered = reply
            send(envelope, to: peer)
            return
        }
        nextAgentNumber += 1
        let id = "\(configuration.runID)-S\(nextAgentNumber)"
        var info = message.agentInfo
        info.id.value = id
        let hostname = info.hostname.isEmpty ? "unknown" : info.hostname
        agents[id] = AgentRecord(id: id, hostname: hostname, info: info, total: total, attributes: attributes,
                                 httpAddress: message.httpAddress, bootID: message.bootID, version: message.version,
                                 registeredAt: now, peer: peer, nextPingAt: now + configuration.agentPingTimeout)
        schedulePing(at: now + configuration.agentPingTimeout)
        if !message.registrationToken.isEmpty { agentsByRegistrationToken[message.registrationToken] = id }
        persist(.admitAgent(id, hostname: hostname, info: info))
        allocator.addAgent(id, total: total)
        counters.agentsRegistered += 1
        log("agent \(id) at \(hostname) registered with \(total)")

        var reply = Agora_V1_AgentRegistered()
        reply.agentID.value = id
        reply.masterInfo = masterInfo
        reply.pingIntervalSeconds = configuration.agentPingTimeout.seconds
        reply.registrationToken = message.registrationToken
        var envelope = Agora_V1_Envelope()
        envelope.agentRegistered = reply
        send(envelope, to: peer)
        requestAllocation()
    }

    /// A known agent rejoins after a partition or a restart (its own or the master's),
    /// reporting the tasks it runs; the master rebuilds or reconciles them.
    mutating func reregisterAgent(_ message: Agora_V1_ReregisterAgent, from peer: PeerID, now: Duration) {
        let id = message.agentInfo.id.value
        guard !id.isEmpty else {
            refuse(peer, "re-registration without an agent ID; register instead")
            return
        }
        if goneAgents.contains(id) {
            counters.goneAgentsRefused += 1
            log("agent \(id) tried to re-register but was removed; telling it to shut down")
            var shutdown = Agora_V1_ShutdownAgent()
            shutdown.agentID.value = id
            shutdown.message = "agent \(id) was removed from the cluster; start it with a fresh work dir to register anew"
            var envelope = Agora_V1_Envelope()
            envelope.shutdownAgent = shutdown
            send(envelope, to: peer)
            return
        }
        guard let (total, attributes) = validateAgentInfo(message.agentInfo, peer: peer) else { return }
        let hostname = message.agentInfo.hostname.isEmpty ? "unknown" : message.agentInfo.hostname

        if var agent = agents[id], !agent.isRecovered {
            let wasReachable = agent.isReachable
            if !wasReachable || agent.info != message.agentInfo || agent.hostname != hostname {
                persist(.admitAgent(id, hostname: hostname, info: message.agentInfo))
            }
            agent.peer = peer
            agent.info = message.agentInfo
            agent.httpAddress = message.httpAddress
            agent.isReachable = true
            agent.unreachableSince = nil
            agent.missedPings = 0
            agent.lastPong = agent.pingsSent
            agent.nextPingAt = now + configuration.agentPingTimeout
            agents[id] = agent
            schedulePing(at: agent.nextPingAt)
            if !wasReachable { allocator.activateAgent(id) }
            log("agent \(id) at \(hostname) re-registered" + (wasReachable ? "" : " after being unreachable"))
        } else {
            // Known from the registry only (the master restarted), or not known at all:
            // admit it under its own ID; its tasks are learnt from its report.
            let recovered = agents[id]
            if recovered == nil || recovered?.unreachableSince != nil || recovered?.info != message.agentInfo
                || recovered?.hostname != hostname {
                persist(.admitAgent(id, hostname: hostname, info: message.agentInfo))
            }
            agents[id] = AgentRecord(id: id, hostname: hostname, info: message.agentInfo, total: total,
                                     attributes: attributes, httpAddress: message.httpAddress,
                                     bootID: message.bootID, version: message.version, registeredAt: now,
                                     peer: peer, nextPingAt: now + configuration.agentPingTimeout)
            schedulePing(at: now + configuration.agentPingTimeout)
            allocator.addAgent(id, total: total)
            switch recovered {
            case nil: log("agent \(id) at \(hostname) re-registered with a master that did not know it")
            case let agent? where agent.unreachableSince != nil:
                log("agent \(id) at \(hostname) re-registered after the master restart, after being unreachable")
            default: log("agent \(id) at \(hostname) re-registered after the master restart")
            }
            recoveringAgentReturned(id)
            reserveTaskTable(reported: message.tasks.count, agentsToCome: recoveringAgents.count)
        }
        counters.agentsReregistered += 1
        let (torndown, unreported) = reconcileReportedTasks(message.tasks, frameworks: message.frameworks,
                                                            reportedExecutors: message.executorInfos, agentID: id, now: now)

        var reply = Agora_V1_AgentReregistered()
        reply.agentID.value = id
        reply.masterInfo = masterInfo
        reply.pingIntervalSeconds = configuration.agentPingTimeout.seconds
        var envelope = Agora_V1_Envelope()
        envelope.agentReregistered = reply
        send(envelope, to: peer)
        agents[id]?.tasksToReconcile = Set(unreported)
        agents[id]?.reconcilingSince = 0
        // At once, not at the next ping: a task that never reached the agent ends now, and
        // the pong lists the executors it runs (the report may lack one that is starting).
        if !unreported.isEmpty || chargesUnreportedExecutor(on: id, reported: message.executorInfos) { sendPing(to: id) }
        for frameworkID in torndown.sorted() {
            log("agent \(id) reported tasks of torn-down framework \(frameworkID); shutting them down")
            sendToAgent(id) { envelope in
                var shutdown = Agora_V1_ShutdownFramework()
                shutdown.agentID.value = id
                shutdown.frameworkID.value = frameworkID
                envelope.shutdownFramework = shutdown
            }
        }
        requestAllocation()
    }

    /// Whether the master charges an executor on `agentID` that its report does not list
    /// (nothing to compare for most agents, and for every one after a master restart).
    private func chargesUnreportedExecutor(on agentID: AgentID, reported: [Agora_V1_ExecutorInfo]) -> Bool {
        guard let charged = agents[agentID]?.chargedExecutors.keys, !charged.isEmpty else { return false }
        let listed = Set(reported.map {
            ExecutorKey(frameworkID: $0.frameworkID.value, agentID: agentID, executorID: $0.executorID.value)
        })
        return charged.contains { !listed.contains($0) }
    }

    /// After a master restart every agent brings its tasks back within seconds: when the
    /// first one returns, sizes the task table for all of them (its report's task count
    /// times the agents to come, at most `largestTaskTableReserved`), rather than letting
    /// the table grow and rehash every task step by step.
    private mutating func reserveTaskTable(reported: Int, agentsToCome: Int) {
        guard tasks.isEmpty, reported > 0 else { return }
        let expected = reported * (agentsToCome + 1)
        guard expected > tasks.capacity else { return }
        tasks.reserveCapacity(min(expected, Self.largestTaskTableReserved))
    }

    /// The most task records reserved ahead, keys and values (a first report much larger
    /// than the others must not reserve gigabytes).
    static let largestTaskTableReserved = 250_000

    private mutating func validateAgentInfo(_ info: Agora_V1_AgentInfo, peer: PeerID) -> (Resources, Attributes)? {
        do {
            let total = try Resources(proto: info.resources)
            let attributes = try Attributes(proto: info.attributes)
            guard !total.isEmpty else {
                refuse(peer, "the agent reports no resources")
                return nil
            }
            return (total, attributes)
        } catch {
            counters.invalidCalls += 1
            refuse(peer, "the agent's resources or attributes are invalid: \(error)")
            return nil
        }
    }

    /// Brings the master's view of an agent's tasks in line with what the agent reports.
    /// Returns the torn-down frameworks whose tasks the agent still runs (not adopted),
    /// and the tasks the report lacks, for the agent to confirm (see `ReconcileAgentTasks`).
    private mutating func reconcileReportedTasks(_ reported: [Agora_V1_Task], frameworks reportedFrameworks: [Agora_V1_FrameworkInfo],
                                                 reportedExecutors: [Agora_V1_ExecutorInfo], agentID: AgentID,
                                                 now: Duration) -> (torndown: Set<FrameworkID>, unreported: [TaskKey]) {
        // Only an agent the master already knew tasks of can have lost some of them.
        let knewTasks = agents[agentID]?.tasks.isEmpty == false
        var reportedKeys: Set<TaskKey> = []
        var torndown: Set<FrameworkID> = []
        // Given to the allocator once per framework: one call per task made a master
        // failover with 100k tasks spend a tenth of its time in the allocator.
        var usedByFramework: [FrameworkID: Resources] = [:]
        // Tasks new to the master, added to their agent's and framework's sets at the end.
        var newKeys: [TaskKey] = []
        // A report lists each framework's tasks together: the framework is looked at
        // once per run of them, not for every task.
        var currentFramework: (id: FrameworkID, isTornDown: Bool)?
        for task in reported {
            let key = TaskKey(frameworkID: task.frameworkID.value, taskID: task.taskID.value)
            guard !key.frameworkID.isEmpty, !key.taskID.isEmpty else { continue }
            if currentFramework?.id != key.frameworkID {
                let isTornDown = removedFrameworks.contains(key.frameworkID) && frameworks[key.frameworkID] == nil
                if !isTornDown, frameworks[key.frameworkID] == nil,
                   let info = reportedFrameworks.first(where: { $0.id.value == key.frameworkID }) {
                    // A framework this master has not seen yet (master restart): remember it
                    // as disconnected so it can re-subscribe within its failover timeout.
                    adoptDisconnectedFramework(info, now: now)
                }
                currentFramework = (key.frameworkID, isTornDown)
            }
            if currentFramework?.isTornDown == true {
                torndown.insert(key.frameworkID)
                continue
            }
            if knewTasks { reportedKeys.insert(key) }
            let resources = (try? Resources(proto: task.resources)) ?? Resources()
            if var existing = tasks[key] {
                let wasUnreachable = existing.state == .taskUnreachable || existing.state == .taskLost
                existing.state = task.state
                tasks[key] = existing
                if wasUnreachable, !task.state.isTerminal {
                    if let framework = frameworks[key.frameworkID], framework.isPartitionAware {
                        // Tell the framework the task is back.
                        sendMasterUpdate(for: key, state: task.state, reason: .agentReregistered,
                                         message: "the agent re-registered", now: now, recordState: false)
                    } else {
                        // Non-partition-aware frameworks were told the task was lost: kill it.
                        sendToAgent(agentID) { envelope in
                            var kill = Agora_V1_KillTask()
                            kill.agentID.value = agentID
                            kill.frameworkID.value = key.frameworkID
                            kill.taskID.value = key.taskID
                            envelope.killTask = kill
                        }
                    }
                }
            } else {
                let record = TaskRecord(key: key, agentID: agentID,
                                        executorID: task.hasExecutorID ? task.executorID.value : nil, name: task.name,
                                        resources: resources, state: task.state, latestStatus: task.statuses.last,
                                        holdsResources: !task.state.isTerminal)
                tasks[key] = record
                newKeys.append(key)
                if record.holdsResources { usedByFramework[key.frameworkID, default: Resources()] += resources }
            }
        }
        for executor in reportedExecutors where executor.hasFrameworkID && !torndown.contains(executor.frameworkID.value) {
            let key = ExecutorKey(frameworkID: executor.frameworkID.value, agentID: agentID,
                                  executorID: executor.executorID.value)
            if executors[key] == nil, !executor.resources.isEmpty,
               let resources = try? Resources(proto: executor.resources), !resources.isEmpty {
                executors[key] = resources
                agents[agentID]?.noteLaunch(on: key)
                usedByFramework[key.frameworkID, default: Resources()] += resources
            }
        }
        for (frameworkID, used) in usedByFramework.sorted(by: { $0.key < $1.key }) {
            allocator.addUsed(used, agent: agentID, framework: frameworkID)
        }
        if !newKeys.isEmpty {
            let agentTaskCount = agents[agentID]?.tasks.count ?? 0
            agents[agentID]?.tasks.reserveCapacity(agentTaskCount + newKeys.count)
            agents[agentID]?.tasks.formUnion(newKeys)
            for (frameworkID, keys) in Dictionary(grouping: newKeys, by: \.frameworkID) {
                let frameworkTaskCount = frameworks[frameworkID]?.tasks.count ?? 0
                // After a master restart, size a framework's set for the agents to come
                // when the first of its tasks returns, as the task table (see `reserveTaskTable`).
                let expected = frameworkTaskCount == 0 && !recoveringAgents.isEmpty
                    ? min(keys.count * (recoveringAgents.count + 1), Self.largestTaskTableReserved)
                    : frameworkTaskCount + keys.count
                frameworks[frameworkID]?.tasks.reserveCapacity(expected)
                frameworks[frameworkID]?.tasks.formUnion(keys.lazy.map(\.taskID))
            }
        }
        // Tasks the master launched there that the report lacks. The agent decides: the
        // report may predate their launch, and the ping that asks it (right after the
        // reply) comes after every launch sent before it.
        let unreported = (knewTasks ? agents[agentID]?.tasks ?? [] : []).sorted().filter { !reportedKeys.contains($0) }
        return (torndown, unreported)
    }

    /// The tasks `agent` has yet to confirm, each with the status it is to report if it
    /// does not know the task; nil when none is left. A task lost while the agent was
    /// away (its record kept for the agent's return) then ends for good with the state
    /// the framework was told; a live one ends as lost in transit.
    private func reconciliation(for agent: AgentRecord) -> Agora_V1_ReconcileAgentTasks? {
        var reconcile = Agora_V1_ReconcileAgentTasks()
        reconcile.agentID.value = agent.id
        for key in agent.tasksToReconcile.sorted() {
            guard let task = tasks[key], task.agentID == agent.id else { continue }
            let partitionAware = frameworks[key.frameworkID]?.isPartitionAware ?? false
            var status = Agora_V1_TaskStatus()
            status.taskID.value = key.taskID
            if task.state.isTerminal {
                status = task.latestStatus ?? status
                status.state = task.state
            } else if task.state == .taskStaging {
                status.state = partitionAware ? .taskDropped : .taskLost
                status.reason = .reconciliation
                status.message = "the task's launch never reached the agent"
            } else {
                status.state = partitionAware ? .taskGone : .taskLost
                status.reason = .agentRestarted
                status.message = "the agent re-registered without this task"
            }
            var entry = Agora_V1_Task()
            entry.frameworkID.value = key.frameworkID
            entry.taskID.value = key.taskID
            entry.statuses = [status]
            reconcile.tasks.append(entry)
        }
        return reconcile.tasks.isEmpty ? nil : reconcile
    }

    /// Pings the agent, with the tasks it has yet to confirm if any.
    private mutating func sendPing(to id: AgentID) {
        guard var agent = agents[id] else { return }
        agent.pingsSent += 1
        var ping = Agora_V1_Ping()
        ping.agentID.value = id
        ping.sequence = agent.pingsSent
        ping.connected = true
        if !agent.tasksToReconcile.isEmpty {
            if let reconcile = reconciliation(for: agent) {
                ping.reconcile = reconcile
                if agent.reconcilingSince == 0 { agent.reconcilingSince = agent.pingsSent }
            } else {
                agent.tasksToReconcile = []
                agent.reconcilingSince = 0
            }
        }
        agents[id] = agent
        var envelope = Agora_V1_Envelope()
        envelope.ping = ping
        send(envelope, to: agent.peer)
    }

    mutating func pong(_ message: Agora_V1_Pong, now: Duration) {
        guard var agent = agents[message.agentID.value] else { return }
        if message.sequence > agent.lastPong { agent.lastPong = message.sequence }
        if agent.reconcilingSince > 0, message.sequence >= agent.reconcilingSince {
            // The agent handled the tasks (its updates for those it did not know came first).
            agent.tasksToReconcile = []
            agent.reconcilingSince = 0
        }
        agent.missedPings = 0
        agents[agent.id] = agent
        releaseUnlistedExecutors(of: agent, answering: message, now: now)
    }

    /// Frees the executors charged on `agent` that its pong does not list, when the ping
    /// it answers followed the last launch on them: the agent ran them and their exit
    /// report was lost, or the launch never reached it. Nothing to do for most agents.
    private mutating func releaseUnlistedExecutors(of agent: AgentRecord, answering pong: Agora_V1_Pong, now: Duration) {
        guard !agent.chargedExecutors.isEmpty else { return }
        let listed = Set(pong.executors.map {
            ExecutorKey(frameworkID: $0.frameworkID.value, agentID: agent.id, executorID: $0.executorID.value)
        })
        let gone = agent.chargedExecutors.filter { key, launchedAt in pong.sequence > launchedAt && !listed.contains(key) }
        for key in gone.keys.sorted(by: { ($0.frameworkID, $0.executorID) < ($1.frameworkID, $1.executorID) }) {
            log("agent \(agent.id) no longer runs executor \(key.executorID) of framework \(key.frameworkID); its resources are free")
            releaseExecutor(key, now: now)
        }
    }

    mutating func unregisterAgent(_ message: Agora_V1_UnregisterAgent, now: Duration) {
        let id = message.agentID.value
        guard let agent = agents[id] else { return }
        log("agent \(id) at \(agent.hostname) unregistered: \(message.reason)")
        removeAgent(id, reason: .agentRemoved, message: "the agent left: \(message.reason)", now: now)
    }

    // MARK: - Liveness

    mutating func pingAgents(now: Duration) {
        // Runs every tick: scan the agents only when one is due, and sort only those.
        guard let earliest = earliestPingAt, now >= earliest else { return }
        earliestPingAt = nil
        var due: [AgentID] = []
        for (id, agent) in agents where agent.isReachable {
            if now >= agent.nextPingAt { due.append(id) } else { schedulePing(at: agent.nextPingAt) }
        }
        for id in due.sorted() {
            guard var agent = agents[id], agent.isReachable, now >= agent.nextPingAt else { continue }
            if agent.pingsSent > agent.lastPong {
                agent.missedPings += 1
            }
            agent.nextPingAt = now + configuration.agentPingTimeout
            agents[id] = agent
            if agent.missedPings >= configuration.maxAgentPingTimeouts {
                markUnreachable(id, now: now)
                continue
            }
            schedulePing(at: agent.nextPingAt)
            sendPing(to: id)
        }
    }

    private mutating func schedulePing(at time: Duration) {
        earliestPingAt = min(earliestPingAt ?? time, time)
    }

    /// The agent stopped answering: rescind its offers and report its tasks as
    /// unreachable (partition-aware frameworks) or lost (the others).
    mutating func markUnreachable(_ id: AgentID, now: Duration) {
        guard var agent = agents[id], agent.isReachable else { return }
        agent.isReachable = false
        agent.unreachableSince = now
        agents[id] = agent
        persist(.markAgentUnreachable(id, since: unixTime(now)))
        allocator.deactivateAgent(id)
        counters.agentsMarkedUnreachable += 1
        log("agent \(id) at \(agent.hostname) is unreachable after \(agent.missedPings) missed pings")
        for offer in offers.values.filter({ $0.agentID == id }).sorted(by: { $0.id < $1.id }) {
            rescind(offer.id, now: now)
        }
        for key in agent.tasks.sorted() {
            guard let task = tasks[key], !task.state.isTerminal else { continue }
            let partitionAware = frameworks[key.frameworkID]?.isPartitionAware ?? false
            sendMasterUpdate(for: key, state: partitionAware ? .taskUnreachable : .taskLost,
                             reason: .agentDisconnected, message: "the agent \(id) is unreachable",
                             now: now, recordState: true, releaseResources: false)
        }
    }

    /// Forgets an agent: its offers are rescinded and its tasks end as lost/gone.
    mutating func removeAgent(_ id: AgentID, reason: Agora_V1_TaskStatus.Reason, message: String, now: Duration) {
        guard let agent = agents[id] else { return }
        persist(.markAgentGone(id))
        goneAgents.insert(id)
        recoveringAgentReturned(id)
        for offer in offers.values.filter({ $0.agentID == id }).sorted(by: { $0.id < $1.id }) {
            rescind(offer.id, now: now)
        }
        for key in agent.tasks.sorted() {
            guard let task = tasks[key], !task.state.isTerminal else { continue }
            let partitionAware = frameworks[key.frameworkID]?.isPartitionAware ?? false
            sendMasterUpdate(for: key, state: partitionAware ? .taskGone : .taskLost, reason: reason,
                             message: message, now: now, recordState: true)
        }
        executors = executors.filter { $0.key.agentID != id }
        allocator.removeAgent(id)
        agents[id] = nil
    }
}
