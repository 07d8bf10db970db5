import AgoraProto
import Messaging
import Resources

extension MasterCore {
    // MARK: - ACCEPT

    mutating func accept(_ accept: Agora_V1_Scheduler_Call.Accept, frameworkID: FrameworkID, now: Duration) {
        let offerIDs = accept.offerIds.map(\.value)
        let partitionAware = frameworks[frameworkID]?.isPartitionAware ?? false
        if let problem = validateOffers(offerIDs, frameworkID: frameworkID) {
            counters.invalidCalls += 1
            // Valid offers of this framework among them go back to the pool.
            for id in offerIDs {
                guard let offer = offers[id], offer.frameworkID == frameworkID else { continue }
                removeOffer(id)
                allocator.recover(offer.resources, agent: offer.agentID, framework: frameworkID, refuseFor: nil, now: now)
                requestAllocation()
            }
            for task in accept.operations.flatMap(Self.tasks(of:)) {
                sendTaskError(task.taskID.value, frameworkID: frameworkID, agentID: nil,
                              state: partitionAware ? .taskDropped : .taskLost, reason: .invalidOffers,
                              message: problem, now: now)
            }
            return
        }

        var available = Resources()
        let agentID = offers[offerIDs[0]]!.agentID
        for id in offerIDs {
            available += offers[id]!.resources
            removeOffer(id)
        }
        counters.offersAccepted += offerIDs.count
        var launchedIDs: Set<String> = []
        let frameworkInfo = frameworks[frameworkID]?.info ?? Agora_V1_FrameworkInfo()

        for operation in accept.operations {
            switch operation.type {
            case .launch:
                for task in operation.launch.taskInfos {
                    if let problem = validateTask(task, executor: task.hasExecutor ? task.executor : nil,
                                                  available: available, agentID: agentID,
                                                  frameworkID: frameworkID, launchedIDs: launchedIDs) {
                        counters.tasksInvalid += 1
                        sendTaskError(task.taskID.value, frameworkID: frameworkID, agentID: agentID, state: .taskError,
                                      reason: .taskInvalid, message: problem, now: now)
                        continue
                    }
                    available = consume(task, executor: task.hasExecutor ? task.executor : nil, from: available,
                                        agentID: agentID, frameworkID: frameworkID, now: now)
                    launchedIDs.insert(task.taskID.value)
                    sendToAgent(agentID) { envelope in
                        var run = Agora_V1_RunTask()
                        run.agentID.value = agentID
                        run.frameworkInfo = frameworkInfo
                        run.task = task
                        run.task.agentID.value = agentID
                        envelope.runTask = run
                    }
                }
            case .launchGroup:
                let group = operation.launchGroup
                if let problem = validateGroup(group, available: available, agentID: agentID,
                                               frameworkID: frameworkID, launchedIDs: launchedIDs) {
                    counters.tasksInvalid += group.taskGroup.tasks.count
                    for task in group.taskGroup.tasks {
                        sendTaskError(task.taskID.value, frameworkID: frameworkID, agentID: agentID, state: .taskError,
                                      reason: .taskGroupInvalid, message: problem, now: now)
                    }
                    continue
                }
                for (index, task) in group.taskGroup.tasks.enumerated() {
                    available = consume(task, executor: index == 0 ? group.executor : nil, from: available,
                                        agentID: agentID, frameworkID: frameworkID, now: now,
                                        executorID: group.executor.executorID.value)
                    launchedIDs.insert(task.taskID.value)
                }
                sendToAgent(agentID) { envelope in
                    var run = Agora_V1_RunTaskGroup()
                    run.agentID.value = agentID
                    run.frameworkInfo = frameworkInfo
                    run.executorInfo = group.executor
                    run.executorInfo.frameworkID.value = frameworkID
                    run.taskGroup = group.taskGroup
                    for index in run.taskGroup.tasks.indices { run.taskGroup.tasks[index].agentID.value = agentID }
                    envelope.runTaskGroup = run
                }
            default:
                counters.invalidCalls += 1
                sendErrorEvent(to: frameworkID, "offer operation \(operation.type) is not supported; supported: LAUNCH, LAUNCH_GROUP")
            }
        }
        // What was not used goes back, filtered for this framework as Mesos does.
        let refuse = Self.refuseDuration(accept.hasFilters ? accept.filters : nil)
        if !available.isEmpty {
            allocator.recover(available, agent: agentID, framework: frameworkID, refuseFor: refuse, now: now)
        }
        requestAllocation()
    }

    private func validateOffers(_ offerIDs: [OfferID], frameworkID: FrameworkID) -> String? {
        guard !offerIDs.isEmpty else { return "ACCEPT names no offers" }
        guard Set(offerIDs).count == offerIDs.count else { return "ACCEPT names the same offer twice" }
        var agentIDs: Set<AgentID> = []
        for id in offerIDs {
            guard let offer = offers[id] else {
                return "offer \(id) is no longer valid (unknown, already used, declined, rescinded or expired)"
            }
            guard offer.frameworkID == frameworkID else { return "offer \(id) belongs to another framework" }
            agentIDs.insert(offer.agentID)
        }
        guard agentIDs.count == 1 else { return "the offers are for several agents (\(agentIDs.sorted().joined(separator: ", "))); one ACCEPT may only use offers of one agent" }
        guard agents[agentIDs.first!]?.isReachable == true else { return "agent \(agentIDs.first!) is unreachable" }
        return nil
    }

    private func validateTask(_ task: Agora_V1_TaskInfo, executor: Agora_V1_ExecutorInfo?, available: Resources,
                              agentID: AgentID, frameworkID: FrameworkID, launchedIDs: Set<String>) -> String? {
        let taskID = task.taskID.value
        if let problem = Self.validateID(taskID, kind: "task ID") { return problem }
        if frameworks[frameworkID]?.tasks.contains(taskID) == true || tasks[TaskKey(frameworkID: frameworkID, taskID: taskID)] != nil {
            return "task ID \(taskID) is already in use by this framework"
        }
        if launchedIDs.contains(taskID) { return "task ID \(taskID) appears twice in this ACCEPT" }
        if task.hasAgentID, task.agentID.value != agentID {
            return "the task names agent \(task.agentID.value) but the offer is for agent \(agentID)"
        }
        switch (task.hasCommand, task.hasExecutor) {
        case (true, true): return "a task has either a command or an executor, not both"
        case (false, false): return "the task has neither a command nor an executor"
        case (true, false):
            let command = task.command
            let shell = !command.hasShell || command.shell
            if shell && command.value.trimmingCharacters(in: .whitespaces).isEmpty {
                return "the task's command is empty"
            }
            if !shell && command.value.isEmpty && command.arguments.isEmpty {
                return "the task's command has no executable"
            }
        case (false, true):
            if let problem = Self.validateID(task.executor.executorID.value, kind: "executor ID") { return problem }
        }
        let resources: Resources
        do {
            resources = try Resources(proto: task.resources)
        } catch {
            return "invalid task resources: \(error)"
        }
        guard !resources.isEmpty else { return "the task uses no resources; give it at least cpus or mem" }
        var needed = resources
        if let executor, executors[ExecutorKey(frameworkID: frameworkID, agentID: agentID, executorID: executor.executorID.value)] == nil {
            guard let executorResources = try? Resources(proto: executor.resources) else {
                return "invalid executor resources"
            }
            needed += executorResources
        }
        guard available.contains(needed) else {
            return "the task needs \(needed) but only \(available) is left in the offers (missing \(needed - available))"
        }
        return nil
    }

    private func validateGroup(_ group: Agora_V1_Offer.Operation.LaunchGroup, available: Resources, agentID: AgentID,
                               frameworkID: FrameworkID, launchedIDs: Set<String>) -> String? {
        guard group.hasExecutor else { return "LAUNCH_GROUP needs an executor" }
        if let problem = Self.validateID(group.executor.executorID.value, kind: "executor ID") { return problem }
        guard !group.taskGroup.tasks.isEmpty else { return "the task group is empty" }
        var remaining = available
        var ids = launchedIDs
        for (index, task) in group.taskGroup.tasks.enumerated() {
            if task.hasExecutor { return "task \(task.taskID.value) of a group must not name its own executor" }
            var plain = task
            if !plain.hasCommand { plain.command.value = "(group)" }  // the command is optional in groups
            if let problem = validateTask(plain, executor: index == 0 ? group.executor : nil, available: remaining,
                                          agentID: agentID, frameworkID: frameworkID, launchedIDs: ids) {
                return "task \(task.taskID.value): \(problem)"
            }
            ids.insert(task.taskID.value)
            remaining = remaining - ((try? Resources(proto: task.resources)) ?? Resources())
            if index == 0, executors[ExecutorKey(frameworkID: frameworkID, agentID: agentID,
                                                 executorID: group.executor.executorID.value)] == nil {
                remaining = remaining - ((try? Resources(proto: group.executor.resources)) ?? Resources())
            }
        }
        return nil
    }

    static func validateID(_ id: String, kind: String) -> String? {
        if id.isEmpty { return "the \(kind) is empty" }
        if id.count > 255 { return "the \(kind) is longer than 255 characters" }
        if id == "." || id == ".." || id.contains(where: { $0 == "/" || $0 == "\u{0}" || $0.isNewline }) {
            return "the \(kind) \"\(id)\" contains a slash, a control character, or is . or .."
        }
        return nil
    }

    /// Records a valid task as launched and returns what is left of `available`.
    private mutating func consume(_ task: Agora_V1_TaskInfo, executor: Agora_V1_ExecutorInfo?, from available: Resources,
                                  agentID: AgentID, frameworkID: FrameworkID, now: Duration,
                                  executorID groupExecutorID: String? = nil) -> Resources {
        let resources = (try? Resources(proto: task.resources)) ?? Resources()
        var remaining = available - resources
        let executorID = groupExecutorID ?? (task.hasExecutor ? task.executor.executorID.value : nil)
        if let executor {
            let key = ExecutorKey(frameworkID: frameworkID, agentID: agentID, executorID: executor.executorID.value)
            if executors[key] == nil {
                let executorResources = (try? Resources(proto: executor.resources)) ?? Resources()
                executors[key] = executorResources
                remaining = remaining - executorResources
            }
            // Pongs to pings sent before this launch cannot tell whether the agent runs it.
            if executors[key] != nil { agents[agentID]?.noteLaunch(on: key) }
        }
        let key = TaskKey(frameworkID: frameworkID, taskID: task.taskID.value)
        tasks[key] = TaskRecord(key: key, agentID: agentID, executorID: executorID, name: task.name, resources: resources,
                                state: .taskStaging, latestStatus: nil)
        agents[agentID]?.tasks.insert(key)
        frameworks[frameworkID]?.tasks.insert(key.taskID)
        counters.tasksLaunched += 1
        return remaining
    }

    static func tasks(of operation: Agora_V1_Offer.Operation) -> [Agora_V1_TaskInfo] {
        switch operation.type {
        case .launch: operation.launch.taskInfos
        case .launchGroup: operation.launchGroup.taskGroup.tasks
        default: []
        }
    }

    // MARK: - KILL, RECONCILE

    mutating func kill(_ kill: Agora_V1_Scheduler_Call.Kill, frameworkID: FrameworkID, now: Duration) {
        let key = TaskKey(frameworkID: frameworkID, taskID: kill.taskID.value)
        guard let task = tasks[key], !task.state.isTerminal else {
            if tasks[key] == nil, completedTasks.contains(where: { $0.key == key }) {
                // It has ended; its terminal update is on its way (or already
                // delivered). Answering LOST would give it a second terminal state.
                return
            }
            if let task = tasks[key], task.state.isTerminal {
                return  // the framework was told it ended (e.g. lost with its agent)
            }
            if tasks[key] == nil, mayBeOnRecoveringAgent(kill.hasAgentID ? kill.agentID.value : nil) {
                // The task may run on an agent that has not re-registered since the
                // master restarted: neither kill nor deny it; the framework retries.
                log("cannot kill task \(key) yet: agents are still re-registering after the master restarted")
                return
            }
            let partitionAware = frameworks[frameworkID]?.isPartitionAware ?? false
            let agentID = kill.hasAgentID ? kill.agentID.value : nil
            if let agentID, agents[agentID]?.isReachable == false {
                // Answered as reconciliation answers: the task may still run there and
                // come back with its agent, so this is not the task's final state.
                sendTaskError(key.taskID, frameworkID: frameworkID, agentID: agentID,
                              state: partitionAware ? .taskUnreachable : .taskLost, reason: .reconciliation,
                              message: "cannot kill task \(key.taskID): its agent \(agentID) is unreachable", now: now)
                return
            }
            sendTaskError(key.taskID, frameworkID: frameworkID, agentID: agentID,
                          state: partitionAware ? .taskUnknown : .taskLost, reason: .reconciliation,
                          message: "cannot kill task \(key.taskID): the master does not know it", now: now)
            return
        }
        sendToAgent(task.agentID) { envelope in
            var message = Agora_V1_KillTask()
            message.agentID.value = task.agentID
            message.frameworkID.value = frameworkID
            message.taskID.value = key.taskID
            if kill.hasKillPolicy { message.killPolicy = kill.killPolicy }
            envelope.killTask = message
        }
    }

    mutating func reconcile(_ reconcile: Agora_V1_Scheduler_Call.Reconcile, frameworkID: FrameworkID, now: Duration) {
        let partitionAware = frameworks[frameworkID]?.isPartitionAware ?? false
        if reconcile.tasks.isEmpty {
            // Implicit: every task the master knows for this framework.
            let keys = tasks.keys.filter { $0.frameworkID == frameworkID }.sorted()
            for key in keys { sendReconciliationUpdate(for: key, now: now) }
            return
        }
        for requested in reconcile.tasks {
            let key = TaskKey(frameworkID: frameworkID, taskID: requested.taskID.value)
            if tasks[key] != nil {
                sendReconciliationUpdate(for: key, now: now)
            } else if completedTasks.contains(where: { $0.key == key }) {
                let completed = completedTasks.last { $0.key == key }!
                sendTaskError(key.taskID, frameworkID: frameworkID, agentID: completed.agentID, state: completed.state,
                              reason: .reconciliation, message: "reconciliation: the task has ended", now: now)
            } else if mayBeOnRecoveringAgent(requested.hasAgentID ? requested.agentID.value : nil) {
                // As Mesos: no answer while the task may be on an agent that has not
                // re-registered since the master restarted; the framework asks again.
                continue
            } else if requested.hasAgentID, let agent = agents[requested.agentID.value], !agent.isReachable {
                sendTaskError(key.taskID, frameworkID: frameworkID, agentID: agent.id,
                              state: partitionAware ? .taskUnreachable : .taskLost, reason: .reconciliation,
                              message: "reconciliation: the agent is unreachable", now: now)
            } else if requested.hasAgentID, goneAgents.contains(requested.agentID.value) {
                sendTaskError(key.taskID, frameworkID: frameworkID, agentID: requested.agentID.value,
                              state: partitionAware ? .taskGone : .taskLost, reason: .reconciliation,
                              message: "reconciliation: the agent was removed", now: now)
            } else if requested.hasAgentID, agents[requested.agentID.value]?.isReachable == true {
                // As Mesos: the agent is registered and does not run it, so it is gone.
                sendTaskError(key.taskID, frameworkID: frameworkID, agentID: requested.agentID.value,
                              state: partitionAware ? .taskGone : .taskLost, reason: .reconciliation,
                              message: "reconciliation: agent \(requested.agentID.value) does not run this task", now: now)
            } else {
                sendTaskError(key.taskID, frameworkID: frameworkID,
                              agentID: requested.hasAgentID ? requested.agentID.value : nil,
                              state: partitionAware ? .taskUnknown : .taskLost, reason: .reconciliation,
                              message: "reconciliation: the master does not know this task", now: now)
            }
        }
    }

    /// Whether a task the master does not know may still run on an agent that has not
    /// re-registered since the master restarted: that agent (when named) is
    /// recovering, or (when none is named) any agent is.
    func mayBeOnRecoveringAgent(_ agentID: AgentID?) -> Bool {
        guard let agentID else { return !recoveringAgents.isEmpty }
        return recoveringAgents.contains(agentID)
    }

    private mutating func sendReconciliationUpdate(for key: TaskKey, now: Duration) {
        guard let task = tasks[key] else { return }
        var status = task.latestStatus ?? Agora_V1_TaskStatus()
        status.taskID.value = key.taskID
        status.state = task.state
        status.agentID.value = task.agentID
        status.source = .master
        status.reason = .reconciliation
        status.clearUuid()
        status.timestamp = unixTime(now)
        var event = Agora_V1_Scheduler_Event()
        event.type = .update
        event.update.status = status
        sendEvent(event, to: key.frameworkID)
    }

    // MARK: - Status updates

    mutating func statusUpdate(_ update: Agora_V1_StatusUpdate, now: Duration) {
        let agentID = update.agentID.value
        counters.statusUpdates += 1
        let frameworkID = update.frameworkID.value
        var status = update.status
        let key = TaskKey(frameworkID: frameworkID, taskID: status.taskID.value)
        // One lookup, and the record changed in place: this runs for every update.
        if let index = tasks.index(forKey: key) {
            guard tasks.values[index].agentID == agentID else {
                counters.invalidCalls += 1
                counters.misaddressedMessages += 1
                log("refused an update for task \(key) from agent \(agentID): the task runs on agent \(tasks.values[index].agentID)")
                return
            }
            let state = update.hasLatestState ? update.latestState : status.state
            tasks.values[index].state = state
            tasks.values[index].latestStatus = status
            if state.isTerminal { retire(key, now: now) }
        }
        status.agentID.value = agentID
        var event = Agora_V1_Scheduler_Event()
        event.type = .update
        event.update.status = status
        sendEvent(event, to: frameworkID)
    }

    /// A status the master itself produces (invalid task, lost agent, reconciliation):
    /// no UUID, so the framework does not acknowledge it.
    mutating func sendTaskError(_ taskID: String, frameworkID: FrameworkID, agentID: AgentID?, state: Agora_V1_TaskState,
                                reason: Agora_V1_TaskStatus.Reason, message: String, now: Duration) {
        var event = Agora_V1_Scheduler_Event()
        event.type = .update
        event.update.status.taskID.value = taskID
        event.update.status.state = state
        event.update.status.reason = reason
        event.update.status.message = message
        event.update.status.source = .master
        event.update.status.timestamp = unixTime(now)
        if let agentID { event.update.status.agentID.value = agentID }
        sendEvent(event, to: frameworkID)
    }

    /// Tells a task's framework about a state the master decided (agent unreachable,
    /// removed, back again). With `recordState`, the task takes that state; a terminal
    /// state retires it unless `releaseResources` is false (the agent may come back).
    mutating func sendMasterUpdate(for key: TaskKey, state: Agora_V1_TaskState, reason: Agora_V1_TaskStatus.Reason,
                                   message: String, now: Duration, recordState: Bool, releaseResources: Bool = true) {
        guard var task = tasks[key] else { return }
        var status = Agora_V1_TaskStatus()
        status.taskID.value = key.taskID
        status.state = state
        status.reason = reason
        status.message = message
        status.source = .master
        status.agentID.value = task.agentID
        if let executorID = task.executorID { status.executorID.value = executorID }
        status.timestamp = unixTime(now)
        if state == .taskUnreachable { status.unreachableTime.nanoseconds = Int64(unixTime(now) * 1e9) }
        if recordState {
            task.state = state
            task.latestStatus = status
            tasks[key] = task
            if state.isTerminal && releaseResources { retire(key, now: now) }
        }
        var event = Agora_V1_Scheduler_Event()
        event.type = .update
        event.update.status = status
        sendEvent(event, to: key.frameworkID)
    }

    /// A task reached a terminal state: its resources return to the pool and it moves
    /// to the completed list.
    mutating func retire(_ key: TaskKey, now: Duration) {
        guard var task = tasks.removeValue(forKey: key) else { return }
        if task.holdsResources {
            allocator.recover(task.resources, agent: task.agentID, framework: key.frameworkID, refuseFor: nil, now: now)
            task.holdsResources = false
            requestAllocation()
        }
        agents[task.agentID]?.tasks.remove(key)
        frameworks[key.frameworkID]?.tasks.remove(key.taskID)
        completedTasks.append(task)
        if completedTasks.count > configuration.completedTasksKept {
            completedTasks.removeFirst(completedTasks.count - configuration.completedTasksKept)
        }
    }
}
