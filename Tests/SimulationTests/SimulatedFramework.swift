import AgoraProto
import Foundation
import Messaging
import Resources

/// A scripted scheduler speaking the wire protocol: subscribes (re-subscribing with
/// its ID after failures), launches short tasks with unique IDs on some offers and
/// declines others, acknowledges every update that carries a UUID, and now and then
/// kills a task or reconciles. It records what it was told about each task.
struct SimulatedFramework {
    struct TaskRecord {
        var agentID: String
        var launchedAtStep: Int
        /// The master took the ACCEPT naming this task (it was tracked right after).
        var admitted = false
        /// The master crashed while the task's launch had not reached its agent.
        var lostWithMaster = false
        var latest: Agora_V1_TaskState = .taskStaging
        /// The first terminal state received, and where it came from.
        var terminal: Agora_V1_TaskState?
        var terminalNote = ""
        /// A non-partition-aware framework was told TASK_LOST for an unreachable agent
        /// and the task then ended otherwise (Mesos semantics; not a violation).
        var revisedAfterLost = false
        var lostForUnreachableAgent = false
        /// The first terminal state was the master refusing the launch.
        var rejectedAtLaunch = false
        /// The last reconciliation answer received during the drain.
        var drainReconciliation: Agora_V1_TaskState?
    }

    struct Output {
        var calls: [Agora_V1_Scheduler_Call] = []
        var violations: [String] = []
        var notes: [String] = []
    }

    let index: Int
    let name: String
    let partitionAware: Bool
    var frameworkID: String?
    var connection = 0
    var peer: PeerID
    var subscribed = false
    /// When the connection is down (master crashed, link dropped), when it comes back.
    var reconnectAt: Duration?
    var lastSubscribeAt: Duration?
    var lastEventAt: Duration = .zero
    var heldOffers: [(offer: Agora_V1_Offer, answerAt: Duration)] = []
    var tasks: [String: TaskRecord] = [:]
    var taskOrder: [String] = []
    var nextTask = 0
    var nextGroup = 0
    var pendingAcks: [(at: Duration, status: Agora_V1_TaskStatus)] = []
    var receivedUUIDs: Set<Data> = []
    var draining = false
    var reconciling = false
    var launched = 0
    var updatesReceived = 0

    static let heartbeatSilence: Duration = .seconds(16)

    init(index: Int, partitionAware: Bool) {
        self.index = index
        self.name = "fw\(index)"
        self.partitionAware = partitionAware
        self.peer = PeerID("f\(index).0")
    }

    // MARK: - Events

    mutating func receive(_ event: Agora_V1_Scheduler_Event, now: Duration, step: Int,
                          rng: inout SimulationRandom) -> Output {
        var output = Output()
        lastEventAt = now
        switch event.type {
        case .subscribed:
            let id = event.subscribed.frameworkID.value
            if let frameworkID, frameworkID != id {
                output.notes.append("\(name) got SUBSCRIBED as \(id) but is \(frameworkID); ignored")
                return output
            }
            frameworkID = id
            subscribed = true
            heldOffers = []
        case .offers:
            guard subscribed else { break }
            for offer in event.offers.offers where offer.frameworkID.value == frameworkID {
                let delay = rng.chance(0.05) ? rng.milliseconds(5_000...40_000) : rng.milliseconds(0...1_500)
                heldOffers.append((offer, now + delay))
            }
        case .rescind:
            heldOffers.removeAll { $0.offer.id.value == event.rescind.offerID.value }
        case .update:
            output = update(event.update.status, now: now, step: step, rng: &rng)
        case .error:
            let message = event.error.message
            if message.contains("subscribe") {
                subscribed = false
                lastSubscribeAt = nil
            }
        default:
            break
        }
        return output
    }

    private mutating func update(_ status: Agora_V1_TaskStatus, now: Duration, step: Int,
                                 rng: inout SimulationRandom) -> Output {
        var output = Output()
        updatesReceived += 1
        let taskID = status.taskID.value
        if status.hasUuid {
            receivedUUIDs.insert(status.uuid)
            let delay = draining || rng.chance(0.8) ? Duration.zero : rng.milliseconds(10...3_000)
            pendingAcks.append((now + delay, status))
        }
        guard var record = tasks[taskID] else {
            output.violations.append("\(name) got an update for task \(taskID), which it never launched")
            return output
        }
        record.latest = status.state
        if reconciling, status.reason == .reconciliation { record.drainReconciliation = status.state }
        if status.state.isTerminal {
            let note = "\(Wire.state(status.state)) from \(status.source) (\(status.reason)) at step \(step)"
            if let first = record.terminal {
                if first == status.state {
                    // The same end again (a re-sent update or a reconciliation answer).
                } else if record.rejectedAtLaunch, status.source == .master, status.reason == .reconciliation {
                    // The master refused the launch and never tracked the task; a KILL or
                    // RECONCILE that crossed the refusal is answered "unknown" (as in Mesos).
                } else if first == .taskLost, !partitionAware, !record.revisedAfterLost, record.lostForUnreachableAgent {
                    // Mesos: TASK_LOST for an unreachable agent is not final for a framework
                    // that is not partition-aware; the task may end otherwise when it returns.
                    record.revisedAfterLost = true
                    record.terminal = status.state
                    record.terminalNote += ", revised to " + note
                } else {
                    output.violations.append(
                        "task \(taskID) of \(name) reached two terminal states: \(record.terminalNote), then \(note)")
                }
            } else {
                record.terminal = status.state
                record.terminalNote = note
                record.rejectedAtLaunch = status.source == .master
                    && [.taskInvalid, .taskGroupInvalid, .invalidOffers].contains(status.reason)
                record.lostForUnreachableAgent = status.state == .taskLost && status.source == .master
                    && (status.reason == .agentDisconnected
                        || (status.reason == .reconciliation && status.message.contains("unreachable")))
            }
        }
        tasks[taskID] = record
        return output
    }

    // MARK: - Time

    mutating func timer(now: Duration, step: Int, chaos: Bool, rng: inout SimulationRandom) -> Output {
        var output = Output()
        if let at = reconnectAt {
            guard now >= at else { return output }
            reconnectAt = nil
            subscribed = false
            lastSubscribeAt = nil
        }
        if subscribed, now - lastEventAt > Self.heartbeatSilence {
            // No heartbeat: the master may have lost us.
            subscribed = false
            lastSubscribeAt = nil
        }
        if !subscribed {
            if lastSubscribeAt == nil || now - lastSubscribeAt! >= .seconds(3) {
                lastSubscribeAt = now
                lastEventAt = now
                output.calls.append(subscribeCall())
            }
            return output
        }
        guard let frameworkID else { return output }

        let dueAcks = pendingAcks.filter { $0.at <= now }
        pendingAcks.removeAll { $0.at <= now }
        for (_, status) in dueAcks {
            var call = call(.acknowledge, frameworkID)
            call.acknowledge.agentID = status.agentID
            call.acknowledge.taskID = status.taskID
            call.acknowledge.uuid = status.uuid
            output.calls.append(call)
        }

        let due = heldOffers.filter { $0.answerAt <= now }.map(\.offer)
        heldOffers.removeAll { $0.answerAt <= now }
        for offer in due {
            if draining || rng.chance(0.25) {
                var call = call(.decline, frameworkID)
                call.decline.offerIds = [offer.id]
                call.decline.filters.refuseSeconds = draining ? 30 : Double(rng.int(in: 0...3))
                output.calls.append(call)
            } else {
                output.calls.append(accept(offer, frameworkID: frameworkID, step: step, rng: &rng))
            }
        }

        if chaos, rng.chance(0.01) {
            let running = taskOrder.filter { tasks[$0]?.terminal == nil }
            if let taskID = rng.pick(running) {
                var call = call(.kill, frameworkID)
                call.kill.taskID.value = taskID
                call.kill.agentID.value = tasks[taskID]!.agentID
                output.calls.append(call)
            }
        }
        if chaos, rng.chance(0.005) {
            let open = taskOrder.filter { tasks[$0]?.terminal == nil }
            output.calls.append(reconcileCall(rng.chance(0.5) ? [] : open, frameworkID: frameworkID))
        }
        return output
    }

    /// Explicit reconciliation of every task not known to have ended (the drain's last word).
    mutating func reconcileOpenTasks() -> Agora_V1_Scheduler_Call? {
        guard let frameworkID, subscribed else { return nil }
        reconciling = true
        let open = taskOrder.filter { tasks[$0]?.terminal == nil }
        return open.isEmpty ? nil : reconcileCall(open, frameworkID: frameworkID)
    }

    // MARK: - Calls

    private func call(_ type: Agora_V1_Scheduler_Call.TypeEnum, _ frameworkID: String) -> Agora_V1_Scheduler_Call {
        var call = Agora_V1_Scheduler_Call()
        call.type = type
        call.frameworkID.value = frameworkID
        return call
    }

    private func subscribeCall() -> Agora_V1_Scheduler_Call {
        var call = Agora_V1_Scheduler_Call()
        call.type = .subscribe
        var info = Agora_V1_FrameworkInfo()
        info.name = name
        info.user = "sim"
        info.failoverTimeout = 7 * 86_400
        if partitionAware {
            var capability = Agora_V1_FrameworkInfo.Capability()
            capability.type = .partitionAware
            info.capabilities = [capability]
        }
        if let frameworkID {
            info.id.value = frameworkID
            call.frameworkID.value = frameworkID
        }
        call.subscribe.frameworkInfo = info
        return call
    }

    private func reconcileCall(_ taskIDs: [String], frameworkID: String) -> Agora_V1_Scheduler_Call {
        var call = call(.reconcile, frameworkID)
        call.reconcile.tasks = taskIDs.map { taskID in
            var task = Agora_V1_Scheduler_Call.Reconcile.Task()
            task.taskID.value = taskID
            if let agentID = tasks[taskID]?.agentID { task.agentID.value = agentID }
            return task
        }
        return call
    }

    private mutating func accept(_ offer: Agora_V1_Offer, frameworkID: String, step: Int,
                                 rng: inout SimulationRandom) -> Agora_V1_Scheduler_Call {
        var available = Wire.resources(offer.resources).flattened()
        let agentID = offer.agentID.value
        var operations: [Agora_V1_Offer.Operation] = []
        let executorResources = Wire.bag("cpus:0.1;mem:32")
        var customExecutorCharged = false
        for _ in 0..<rng.int(in: 1...3) {
            let roll = rng.unit()
            var needs = Wire.bag("cpus:\(Double(rng.int(in: 1...5)) / 10);mem:\(32 * rng.int(in: 1...4))")
            if rng.chance(0.4), let port = pickPort(available.ports, rng: &rng) {
                needs += Wire.bag("ports:[\(port)-\(port)]")
            }
            if roll < 0.7 {
                guard available.contains(needs) else { break }
                available -= needs
                var task = newTask(needs, agentID: agentID, step: step)
                task.command.value = "sleep"
                operations.append(launch([task]))
            } else if roll < 0.85 {
                // The executor's resources count once (if the master starts it here).
                let extra = customExecutorCharged ? Resources() : executorResources
                guard available.contains(needs + extra) else { break }
                available -= needs + extra
                customExecutorCharged = true
                var task = newTask(needs, agentID: agentID, step: step)
                var executor = Agora_V1_ExecutorInfo()
                executor.executorID.value = "ce\(index)"
                executor.type = .custom
                executor.command.value = "sim-executor"
                executor.resources = executorResources.proto
                task.executor = executor
                operations.append(launch([task]))
            } else {
                guard available.contains(needs + executorResources) else { break }
                available -= needs + executorResources
                nextGroup += 1
                var executor = Agora_V1_ExecutorInfo()
                executor.executorID.value = "ge\(index)-\(nextGroup)"
                executor.type = .default
                executor.resources = executorResources.proto
                var group = [newTask(needs, agentID: agentID, step: step)]
                let second = Wire.bag("cpus:0.1;mem:32")
                if rng.chance(0.5), available.contains(second) {
                    available -= second
                    group.append(newTask(second, agentID: agentID, step: step))
                }
                var operation = Agora_V1_Offer.Operation()
                operation.type = .launchGroup
                operation.launchGroup.executor = executor
                operation.launchGroup.taskGroup.tasks = group
                operations.append(operation)
            }
        }
        var call = call(operations.isEmpty ? .decline : .accept, frameworkID)
        if operations.isEmpty {
            call.decline.offerIds = [offer.id]
            call.decline.filters.refuseSeconds = 1
        } else {
            call.accept.offerIds = [offer.id]
            call.accept.operations = operations
            call.accept.filters.refuseSeconds = Double(rng.int(in: 0...2))
        }
        return call
    }

    private mutating func newTask(_ resources: Resources, agentID: String, step: Int) -> Agora_V1_TaskInfo {
        nextTask += 1
        let id = "\(name)-t\(nextTask)"
        var task = Agora_V1_TaskInfo()
        task.name = id
        task.taskID.value = id
        task.agentID.value = agentID
        task.resources = resources.proto
        tasks[id] = TaskRecord(agentID: agentID, launchedAtStep: step)
        taskOrder.append(id)
        launched += 1
        return task
    }

    private func launch(_ tasks: [Agora_V1_TaskInfo]) -> Agora_V1_Offer.Operation {
        var operation = Agora_V1_Offer.Operation()
        operation.type = .launch
        operation.launch.taskInfos = tasks
        return operation
    }

    private func pickPort(_ ports: RangeSet, rng: inout SimulationRandom) -> UInt64? {
        guard let range = rng.pick(ports.ranges) else { return nil }
        return range.lowerBound + UInt64(rng.below(Int(range.upperBound - range.lowerBound + 1)))
    }
}
