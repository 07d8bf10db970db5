import AgoraProto
import Messaging
import Resources

extension MasterCore {
    // MARK: - Scheduler calls

    mutating func handleCall(_ call: Agora_V1_Scheduler_Call, from peer: PeerID, now: Duration) {
        if call.type == .subscribe {
            subscribe(call.subscribe, from: peer, now: now)
            return
        }
        let frameworkID = call.frameworkID.value
        // Only the flags are read here: a copy of the record held across the call would
        // make the call's first change to the framework's task set copy it whole.
        guard let isConnected = frameworks[frameworkID]?.isConnected else {
            counters.invalidCalls += 1
            sendError(to: peer, frameworkID.isEmpty
                ? "a \(call.type) call needs a framework_id; subscribe first"
                : "framework \(frameworkID) is not subscribed; subscribe first")
            return
        }
        guard isConnected else {
            counters.invalidCalls += 1
            sendError(to: peer, "framework \(frameworkID) is disconnected; subscribe again with its ID to resume")
            return
        }
        guard frameworks[frameworkID]?.peer == peer else {
            // Another connection using this framework's ID: only SUBSCRIBE may move it.
            counters.invalidCalls += 1
            counters.misaddressedMessages += 1
            log("refused \(call.type) for framework \(frameworkID) from a connection that is not the framework's")
            sendError(to: peer, "framework \(frameworkID) is subscribed from another connection; subscribe again with its ID to take it over")
            return
        }

        switch call.type {
        case .teardown:
            log("framework \(frameworkID) (\(frameworks[frameworkID]?.info.name ?? "")) tore itself down")
            removeFramework(frameworkID, now: now)
        case .accept: accept(call.accept, frameworkID: frameworkID, now: now)
        case .decline: decline(call.decline, frameworkID: frameworkID, now: now)
        case .revive: revive(Set(call.revive.roles), frameworkID: frameworkID)
        case .suppress: suppress(Set(call.suppress.roles), frameworkID: frameworkID)
        case .kill: kill(call.kill, frameworkID: frameworkID, now: now)
        case .acknowledge: acknowledge(call.acknowledge, frameworkID: frameworkID)
        case .reconcile: reconcile(call.reconcile, frameworkID: frameworkID, now: now)
        case .message: frameworkMessage(call.message, frameworkID: frameworkID)
        case .updateFramework: updateFramework(call.updateFramework, frameworkID: frameworkID, now: now)
        default:
            counters.invalidCalls += 1
            sendErrorEvent(to: frameworkID, "the \(call.type) call is not supported by this master")
        }
    }

    mutating func subscribe(_ subscribe: Agora_V1_Scheduler_Call.Subscribe, from peer: PeerID, now: Duration) {
        var info = subscribe.frameworkInfo
        let roles = Self.roles(of: info)
        if let invalid = roles.first(where: { !Self.isValidRole($0) }) {
            counters.invalidCalls += 1
            sendError(to: peer, "invalid role \"\(invalid)\": roles are non-empty, without spaces or slashes, and not . or ..")
            return
        }
        let suppressed = Set(subscribe.suppressedRoles).intersection(roles)
        if info.user.isEmpty { info.user = "root" }
        // A SUBSCRIBE without an ID that a driver repeated because the first answer was
        // slow (same connection, same name) is the same framework, not a second one.
        if !info.hasID || info.id.value.isEmpty,
           let previous = frameworksByPeer[peer]?.sorted().first(where: { frameworks[$0]?.info.name == info.name }) {
            info.id.value = previous
        }

        let id: FrameworkID
        if info.hasID, !info.id.value.isEmpty {
            id = info.id.value
            if removedFrameworks.contains(id), frameworks[id] == nil {
                counters.invalidCalls += 1
                log("refused framework \(id) (\(info.name)): it was torn down")
                sendError(to: peer, "framework \(id) was torn down (TEARDOWN or failover timeout passed) and cannot "
                    + "come back under this ID; register as a new framework, without an ID")
                return
            }
            if var existing = frameworks[id] {
                // Failover: the framework comes back (perhaps as a new process).
                for offerID in existing.offers.sorted() { rescind(offerID, now: now, notify: existing.isConnected) }
                if let old = existing.peer { frameworksByPeer[old]?.remove(id) }
                existing = frameworks[id]!
                existing.info = info
                existing.roles = roles
                existing.suppressedRoles = suppressed
                existing.isConnected = true
                existing.disconnectedAt = nil
                existing.failoverDeadline = nil
                existing.peer = peer
                existing.nextHeartbeatAt = now + configuration.frameworkHeartbeatInterval
                frameworks[id] = existing
                allocator.updateFrameworkRoles(id, roles: roles)
                allocator.activateFramework(id)
                allocator.revive(id, roles: nil)
                if !suppressed.isEmpty { allocator.suppress(id, roles: suppressed) }
                log("framework \(id) (\(info.name)) re-subscribed")
            } else {
                // Known to its tasks but not to this master (master restart).
                adoptFramework(id: id, info: info, roles: roles, suppressed: suppressed, peer: peer, now: now)
                log("framework \(id) (\(info.name)) re-subscribed to a master that did not know it")
            }
        } else {
            nextFrameworkNumber += 1
            id = "\(configuration.runID)-\(String(repeating: "0", count: max(0, 4 - String(nextFrameworkNumber).count)))\(nextFrameworkNumber)"
            info.id.value = id
            adoptFramework(id: id, info: info, roles: roles, suppressed: suppressed, peer: peer, now: now)
            log("framework \(id) (\(info.name)) subscribed with roles \(roles.sorted().joined(separator: ","))")
        }
        counters.frameworksSubscribed += 1
        frameworksByPeer[peer, default: []].insert(id)
        if let stored = frameworks[id]?.info { persist(.upsertFramework(id, info: stored)) }

        var event = Agora_V1_Scheduler_Event()
        event.type = .subscribed
        event.subscribed.frameworkID.value = id
        event.subscribed.heartbeatIntervalSeconds = configuration.frameworkHeartbeatInterval.seconds
        event.subscribed.masterInfo = masterInfo
        sendEvent(event, to: id)
        if info.hasID, !info.id.value.isEmpty { reportUnreachableRecoveredAgents(to: id) }
        requestAllocation()
    }

    private mutating func adoptFramework(id: FrameworkID, info: Agora_V1_FrameworkInfo, roles: Set<Role>,
                                         suppressed: Set<Role>, peer: PeerID, now: Duration) {
        var info = info
        info.id.value = id
        frameworks[id] = FrameworkRecord(id: id, info: info, roles: roles, suppressedRoles: suppressed,
                                         isConnected: true, registeredAt: now, peer: peer,
                                         nextHeartbeatAt: now + configuration.frameworkHeartbeatInterval)
        var allocated: [AgentID: Resources] = [:]
        for task in tasks.values where task.key.frameworkID == id && task.holdsResources {
            allocated[task.agentID, default: Resources()] += task.resources
            frameworks[id]?.tasks.insert(task.key.taskID)
        }
        for (key, resources) in executors where key.frameworkID == id {
            allocated[key.agentID, default: Resources()] += resources
        }
        allocator.addFramework(id, roles: roles, suppressedRoles: suppressed, allocated: allocated)
    }

    /// A framework reported by a re-registering agent that this master has not seen:
    /// kept disconnected until it re-subscribes or its failover timeout passes.
    mutating func adoptDisconnectedFramework(_ info: Agora_V1_FrameworkInfo, now: Duration) {
        let id = info.id.value
        guard !id.isEmpty, frameworks[id] == nil else { return }
        let roles = Self.roles(of: info)
        var record = FrameworkRecord(id: id, info: info, roles: roles, suppressedRoles: [], isConnected: false,
                                     registeredAt: now, disconnectedAt: now, peer: nil,
                                     nextHeartbeatAt: now + configuration.frameworkHeartbeatInterval)
        record.failoverDeadline = now + record.failoverTimeout
        frameworks[id] = record
        persist(.upsertFramework(id, info: info))
        persist(.markFrameworkDisconnected(id, failoverDeadline: unixTime(now + record.failoverTimeout)))
        allocator.addFramework(id, roles: roles, suppressedRoles: [], allocated: [:])
        allocator.deactivateFramework(id)
    }

    mutating func disconnectFramework(_ id: FrameworkID, now: Duration) {
        guard var framework = frameworks[id], framework.isConnected else { return }
        framework.isConnected = false
        framework.disconnectedAt = now
        framework.failoverDeadline = now + framework.failoverTimeout
        framework.peer = nil
        frameworks[id] = framework
        persist(.markFrameworkDisconnected(id, failoverDeadline: unixTime(now + framework.failoverTimeout)))
        allocator.deactivateFramework(id)
        for offerID in framework.offers.sorted() { rescind(offerID, now: now, notify: false) }
        log("framework \(id) (\(framework.info.name)) disconnected; failover timeout \(framework.failoverTimeout)")
    }

    mutating func expireDisconnectedFrameworks(now: Duration) {
        for id in frameworks.values.filter({ !$0.isConnected }).map(\.id).sorted() {
            guard let framework = frameworks[id], !framework.isConnected,
                  let deadline = framework.failoverDeadline ?? framework.disconnectedAt.map({ $0 + framework.failoverTimeout }),
                  now >= deadline else { continue }
            log("framework \(id) (\(framework.info.name)) did not return within its failover timeout; tearing it down")
            removeFramework(id, now: now)
        }
    }

    /// Tears a framework down: its offers are rescinded, its executors and tasks killed.
    mutating func removeFramework(_ id: FrameworkID, now: Duration) {
        guard let framework = frameworks[id] else { return }
        persist(.removeFramework(id))
        rememberRemovedFramework(id)
        for offerID in framework.offers.sorted() { rescind(offerID, now: now, notify: false) }
        var agentsWithWork: Set<AgentID> = []
        for taskID in framework.tasks.sorted() {
            let key = TaskKey(frameworkID: id, taskID: taskID)
            guard var task = tasks[key] else { continue }
            agentsWithWork.insert(task.agentID)
            task.state = .taskKilled
            tasks[key] = task
            retire(key, now: now)
        }
        for key in executors.keys where key.frameworkID == id {
            agentsWithWork.insert(key.agentID)
            executors[key] = nil
            agents[key.agentID]?.chargedExecutors[key] = nil
        }
        for agentID in agentsWithWork.sorted() {
            sendToAgent(agentID) { envelope in
                var shutdown = Agora_V1_ShutdownFramework()
                shutdown.agentID.value = agentID
                shutdown.frameworkID.value = id
                envelope.shutdownFramework = shutdown
            }
        }
        allocator.removeFramework(id)
        if let peer = framework.peer { frameworksByPeer[peer]?.remove(id) }
        frameworks[id] = nil
        counters.frameworksTornDown += 1
        requestAllocation()
    }

    mutating func heartbeatFrameworks(now: Duration) {
        // Runs every tick: sort only the frameworks that are due.
        let due = frameworks.values.filter { $0.isConnected && now >= $0.nextHeartbeatAt }.map(\.id).sorted()
        for id in due {
            guard var framework = frameworks[id], framework.isConnected, now >= framework.nextHeartbeatAt else { continue }
            framework.nextHeartbeatAt = now + configuration.frameworkHeartbeatInterval
            frameworks[id] = framework
            var event = Agora_V1_Scheduler_Event()
            event.type = .heartbeat
            sendEvent(event, to: id)
        }
    }

    private mutating func updateFramework(_ update: Agora_V1_Scheduler_Call.UpdateFramework, frameworkID: FrameworkID,
                                          now: Duration) {
        guard update.frameworkInfo.id.value == frameworkID else {
            sendErrorEvent(to: frameworkID, "UPDATE_FRAMEWORK must carry the framework's own ID in framework_info.id")
            return
        }
        let roles = Self.roles(of: update.frameworkInfo)
        if let invalid = roles.first(where: { !Self.isValidRole($0) }) {
            sendErrorEvent(to: frameworkID, "invalid role \"\(invalid)\"")
            return
        }
        frameworks[frameworkID]?.info = update.frameworkInfo
        persist(.upsertFramework(frameworkID, info: update.frameworkInfo))
        frameworks[frameworkID]?.roles = roles
        let suppressed = Set(update.suppressedRoles).intersection(roles)
        frameworks[frameworkID]?.suppressedRoles = suppressed
        allocator.updateFrameworkRoles(frameworkID, roles: roles)
        allocator.revive(frameworkID, roles: roles.subtracting(suppressed))
        if !suppressed.isEmpty { allocator.suppress(frameworkID, roles: suppressed) }
        for offer in offers.values.filter({ $0.frameworkID == frameworkID && !roles.contains($0.role) }) {
            rescind(offer.id, now: now)
        }
        requestAllocation()
    }

    // MARK: - Offers

    private mutating func decline(_ decline: Agora_V1_Scheduler_Call.Decline, frameworkID: FrameworkID, now: Duration) {
        let refuse = Self.refuseDuration(decline.hasFilters ? decline.filters : nil)
        for offerID in decline.offerIds.map(\.value) {
            guard let offer = offers[offerID], offer.frameworkID == frameworkID else { continue }
            removeOffer(offerID)
            allocator.recover(offer.resources, agent: offer.agentID, framework: frameworkID, refuseFor: refuse, now: now)
            counters.offersDeclined += 1
        }
    }

    private mutating func revive(_ roles: Set<Role>, frameworkID: FrameworkID) {
        let target = roles.isEmpty ? nil : roles
        let revived = roles.isEmpty ? frameworks[frameworkID]?.roles ?? [] : roles
        frameworks[frameworkID]?.suppressedRoles.subtract(revived)
        allocator.revive(frameworkID, roles: target)
        requestAllocation()
    }

    private mutating func suppress(_ roles: Set<Role>, frameworkID: FrameworkID) {
        let all = frameworks[frameworkID]?.roles ?? []
        frameworks[frameworkID]?.suppressedRoles.formUnion(roles.isEmpty ? all : roles.intersection(all))
        allocator.suppress(frameworkID, roles: roles.isEmpty ? nil : roles)
    }

    /// Withdraws an offer: its resources return to the pool and, if `notify`, the
    /// framework receives RESCIND.
    mutating func rescind(_ offerID: OfferID, now: Duration, notify: Bool = true) {
        guard let offer = offers[offerID] else { return }
        removeOffer(offerID)
        allocator.recover(offer.resources, agent: offer.agentID, framework: offer.frameworkID, refuseFor: nil, now: now)
        counters.offersRescinded += 1
        requestAllocation()
        if notify {
            var event = Agora_V1_Scheduler_Event()
            event.type = .rescind
            event.rescind.offerID.value = offerID
            sendEvent(event, to: offer.frameworkID)
        }
    }

    mutating func removeOffer(_ offerID: OfferID) {
        guard let offer = offers.removeValue(forKey: offerID) else { return }
        frameworks[offer.frameworkID]?.offers.remove(offerID)
    }

    mutating func expireOffers(now: Duration) {
        guard let timeout = configuration.offerTimeout else { return }
        let expired = offers.values.filter { now - $0.createdAt >= timeout }.map(\.id).sorted()
        for offerID in expired { rescind(offerID, now: now) }
    }

    // MARK: - Messages, acknowledgements

    private mutating func acknowledge(_ ack: Agora_V1_Scheduler_Call.Acknowledge, frameworkID: FrameworkID) {
        let agentID = ack.agentID.value
        guard agents.index(forKey: agentID) != nil else {
            sendErrorEvent(to: frameworkID, "cannot acknowledge: agent \(agentID) is unknown")
            return
        }
        sendToAgent(agentID) { envelope in
            var message = Agora_V1_StatusUpdateAcknowledgement()
            message.agentID.value = agentID
            message.frameworkID.value = frameworkID
            message.taskID = ack.taskID
            message.uuid = ack.uuid
            envelope.statusUpdateAcknowledgement = message
        }
    }

    private mutating func frameworkMessage(_ message: Agora_V1_Scheduler_Call.Message, frameworkID: FrameworkID) {
        let agentID = message.agentID.value
        guard agents[agentID]?.isReachable == true else {
            sendErrorEvent(to: frameworkID, "cannot deliver the message: agent \(agentID) is unknown or unreachable")
            return
        }
        sendToAgent(agentID) { envelope in
            var forward = Agora_V1_FrameworkToExecutorMessage()
            forward.agentID.value = agentID
            forward.frameworkID.value = frameworkID
            forward.executorID = message.executorID
            forward.data = message.data
            envelope.frameworkToExecutorMessage = forward
        }
    }

    mutating func executorMessage(_ message: Agora_V1_ExecutorToFrameworkMessage) {
        var event = Agora_V1_Scheduler_Event()
        event.type = .message
        event.message.agentID = message.agentID
        event.message.executorID = message.executorID
        event.message.data = message.data
        sendEvent(event, to: message.frameworkID.value)
    }

    mutating func exitedExecutor(_ message: Agora_V1_ExitedExecutor, now: Duration) {
        let key = ExecutorKey(frameworkID: message.frameworkID.value, agentID: message.agentID.value,
                              executorID: message.executorID.value)
        if executors[key] != nil {
            // A live task of the executor that its exit report does not name was launched
            // after the exit (the launch crossed the report): the agent starts the executor
            // again for it, so the executor's resources stay in use.
            let given = Set(message.tasks.map(\.value))
            let crossing = (agents[key.agentID]?.tasks ?? []).filter { taskKey in
                guard taskKey.frameworkID == key.frameworkID, !given.contains(taskKey.taskID),
                      let task = tasks[taskKey] else { return false }
                return task.executorID == key.executorID && !task.state.isTerminal
            }
            if crossing.isEmpty {
                releaseExecutor(key, now: now)
            } else {
                log("executor \(key.executorID) of framework \(key.frameworkID) ended on agent \(key.agentID) while "
                    + "\(crossing.map(\.taskID).sorted().joined(separator: ", ")) was on its way: the agent starts it again")
            }
        }
        var event = Agora_V1_Scheduler_Event()
        event.type = .failure
        event.failure.agentID = message.agentID
        event.failure.executorID = message.executorID
        event.failure.status = message.status
        sendEvent(event, to: key.frameworkID)
    }

    /// Frees an executor's resources (it ended, or never started).
    mutating func releaseExecutor(_ key: ExecutorKey, now: Duration) {
        agents[key.agentID]?.chargedExecutors[key] = nil
        guard let resources = executors.removeValue(forKey: key) else { return }
        allocator.recover(resources, agent: key.agentID, framework: key.frameworkID, refuseFor: nil, now: now)
        requestAllocation()
    }

    // MARK: - Errors

    mutating func sendErrorEvent(to frameworkID: FrameworkID, _ message: String) {
        var event = Agora_V1_Scheduler_Event()
        event.type = .error
        event.error.message = message
        sendEvent(event, to: frameworkID)
    }

    /// An ERROR event to a peer that is not (or no longer) a subscribed framework.
    mutating func sendError(to peer: PeerID, _ message: String) {
        var event = Agora_V1_Scheduler_Event()
        event.type = .error
        event.error.message = message
        var envelope = Agora_V1_Envelope()
        envelope.schedulerEvent = event
        send(envelope, to: peer)
    }

    // MARK: - Rules

    static func roles(of info: Agora_V1_FrameworkInfo) -> Set<Role> {
        if !info.roles.isEmpty { return Set(info.roles) }
        if info.hasRole, !info.role.isEmpty { return [info.role] }
        return [Resource.unreservedRole]
    }

    static func isValidRole(_ role: String) -> Bool {
        !role.isEmpty && role != "." && role != ".." && !role.hasPrefix("-")
            && !role.contains(where: { $0 == "/" || $0.isWhitespace || $0 == "\u{0}" })
    }

    /// Mesos semantics: 5 s when unset, capped at 365 days, negative treated as zero.
    static func refuseDuration(_ filters: Agora_V1_Filters?) -> Duration {
        let seconds = filters?.refuseSeconds ?? 5
        guard seconds.isFinite else { return .seconds(365 * 86_400) }
        return .seconds(fractional: min(max(seconds, 0), 365 * 86_400))
    }
}
