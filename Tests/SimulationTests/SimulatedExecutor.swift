import AgoraProto
import Foundation
import Messaging

@testable import Agent

/// A fake executor process on a simulated host: it subscribes to its agent, reports
/// RUNNING for each task it is given and, after a random while, FINISHED or FAILED,
/// re-sending every update until the agent acknowledges it (as `ExecutorSession` does).
struct SimulatedExecutor {
    /// `shared`: a framework's command executor, which runs until the agent shuts it down.
    enum Kind: String { case group, custom, shared }

    struct RunningTask {
        var state: Agora_V1_TaskState
        var finishAt: Duration?
        var outcome: Agora_V1_TaskState
    }

    struct PendingUpdate {
        var status: Agora_V1_TaskStatus
        var nextSendAt: Duration?
    }

    let pid: Int
    let host: Int
    let key: ExecutorKey
    let containerID: String
    let kind: Kind
    /// Never subscribes (a wedged executor the agent must time out).
    let hangs: Bool
    var connection = 0
    var peer = PeerID("none")
    var connected = false
    var connectAt: Duration?
    var subscribed = false
    var nextSubscribeAt: Duration?
    var tasks: [String: RunningTask] = [:]
    var taskOrder: [String] = []
    var pending: [PendingUpdate] = []
    var exitAt: Duration?
    var exitStatus: Int32 = 0
    var exitDescription = "exited with status 0"
    var memoryLimit = false
    var idleSince: Duration?

    static let retryInterval: Duration = .seconds(2)

    init(pid: Int, host: Int, key: ExecutorKey, containerID: String, kind: Kind, hangs: Bool) {
        self.pid = pid
        self.host = host
        self.key = key
        self.containerID = containerID
        self.kind = kind
        self.hangs = hangs
    }

    var isDying: Bool { exitAt != nil }

    /// The process ends at `at` unless it already ends earlier.
    mutating func exit(at: Duration, status: Int32, description: String, memoryLimit: Bool = false) {
        if let current = exitAt, current <= at { return }
        exitAt = at
        exitStatus = status
        exitDescription = description
        self.memoryLimit = memoryLimit
    }

    mutating func receive(_ event: Agora_V1_Executor_Event, now: Duration,
                          rng: inout SimulationRandom) -> [Agora_V1_Executor_Call] {
        guard !isDying else { return [] }
        var calls: [Agora_V1_Executor_Call] = []
        switch event.type {
        case .subscribed:
            subscribed = true
            nextSubscribeAt = nil
            for index in pending.indices {
                pending[index].nextSendAt = now + Self.retryInterval
                calls.append(updateCall(pending[index].status))
            }
        case .launch:
            calls += start(event.launch.task, now: now, rng: &rng)
        case .launchGroup:
            for task in event.launchGroup.taskGroup.tasks { calls += start(task, now: now, rng: &rng) }
        case .kill:
            let taskID = event.kill.taskID.value
            if let task = tasks[taskID], !task.state.isTerminal {
                if rng.chance(0.3) { calls += report(taskID, .taskKilling, now: now, rng: &rng) }
                calls += report(taskID, .taskKilled, now: now, rng: &rng)
            }
        case .acknowledged:
            pending.removeAll { $0.status.uuid == event.acknowledged.uuid }
        case .shutdown:
            exit(at: now + rng.milliseconds(10...300), status: 0, description: "exited with status 0 after SHUTDOWN")
        default:
            break
        }
        return calls
    }

    mutating func timer(now: Duration, rng: inout SimulationRandom) -> [Agora_V1_Executor_Call] {
        guard !isDying else { return [] }
        var calls: [Agora_V1_Executor_Call] = []
        // Tasks run on whether or not the agent is there; updates wait for a subscription.
        for taskID in taskOrder {
            guard let task = tasks[taskID], !task.state.isTerminal, let due = task.finishAt, now >= due else { continue }
            calls += report(taskID, task.outcome, now: now, rng: &rng)
        }
        if connected, !subscribed, !hangs, let due = nextSubscribeAt, now >= due {
            nextSubscribeAt = now + .milliseconds(500)
            calls.append(subscribeCall())
        }
        if subscribed {
            for index in pending.indices {
                guard let due = pending[index].nextSendAt, now >= due else { continue }
                pending[index].nextSendAt = now + Self.retryInterval
                calls.append(updateCall(pending[index].status))
            }
        }
        let allDone = taskOrder.allSatisfy { tasks[$0]?.state.isTerminal ?? true } && pending.isEmpty
        switch kind {
        case .group:
            if allDone, !taskOrder.isEmpty {
                exit(at: now + rng.milliseconds(5...100), status: 0, description: "exited with status 0")
            }
        case .shared:
            break
        case .custom:
            if allDone {
                let since = idleSince ?? now
                idleSince = since
                if now - since >= .seconds(5) {
                    exit(at: now + rng.milliseconds(5...100), status: 0, description: "exited with status 0 (idle)")
                }
            } else {
                idleSince = nil
            }
        }
        return calls
    }

    /// The connection to the (possibly restarted) agent is up: subscribe soon.
    mutating func connect(now: Duration) {
        connection += 1
        peer = PeerID("e\(pid).\(connection)")
        connected = true
        subscribed = false
        connectAt = nil
        nextSubscribeAt = now
    }

    mutating func disconnect() {
        connected = false
        subscribed = false
        nextSubscribeAt = nil
        connectAt = nil
    }

    private mutating func start(_ task: Agora_V1_TaskInfo, now: Duration,
                                rng: inout SimulationRandom) -> [Agora_V1_Executor_Call] {
        let taskID = task.taskID.value
        guard tasks[taskID] == nil else { return [] }
        let outcome: Agora_V1_TaskState = rng.chance(0.85) ? .taskFinished : .taskFailed
        tasks[taskID] = RunningTask(state: .taskStaging, finishAt: now + rng.milliseconds(300...15_000),
                                    outcome: outcome)
        taskOrder.append(taskID)
        var calls: [Agora_V1_Executor_Call] = []
        if rng.chance(0.2) { calls += report(taskID, .taskStarting, now: now, rng: &rng) }
        calls += report(taskID, .taskRunning, now: now, rng: &rng)
        return calls
    }

    private mutating func report(_ taskID: String, _ state: Agora_V1_TaskState, now: Duration,
                                 rng: inout SimulationRandom) -> [Agora_V1_Executor_Call] {
        tasks[taskID]?.state = state
        if state.isTerminal { tasks[taskID]?.finishAt = nil }
        var status = Agora_V1_TaskStatus()
        status.taskID.value = taskID
        status.state = state
        status.uuid = rng.uuid()
        status.source = .executor
        status.executorID.value = key.executorID
        guard subscribed else {
            pending.append(PendingUpdate(status: status, nextSendAt: nil))
            return []
        }
        pending.append(PendingUpdate(status: status, nextSendAt: now + Self.retryInterval))
        return [updateCall(status)]
    }

    private func call(_ type: Agora_V1_Executor_Call.TypeEnum) -> Agora_V1_Executor_Call {
        var call = Agora_V1_Executor_Call()
        call.type = type
        call.frameworkID.value = key.frameworkID
        call.executorID.value = key.executorID
        return call
    }

    private func subscribeCall() -> Agora_V1_Executor_Call {
        var call = call(.subscribe)
        call.subscribe.unacknowledgedUpdates = pending.map { pending in
            var update = Agora_V1_Executor_Call.Update()
            update.status = pending.status
            return update
        }
        return call
    }

    private func updateCall(_ status: Agora_V1_TaskStatus) -> Agora_V1_Executor_Call {
        var call = call(.update)
        call.update.status = status
        return call
    }
}
