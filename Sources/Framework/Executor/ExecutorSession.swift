import AgoraProto
import Foundation

/// The protocol logic of an `ExecutorDriver`, with no I/O: when to SUBSCRIBE and
/// re-SUBSCRIBE, which status updates are still unacknowledged and when to send them
/// again, which events reach the executor.
///
/// Every input is a method taking `now` (time since the driver started) and returning
/// directives for the driver to carry out in order; a periodic `tick` stands in for
/// timers. Tests drive it with made-up times.
struct ExecutorSession: Sendable {
    /// Retry and recovery timing.
    struct Timing: Sendable {
        /// SUBSCRIBE is sent again this often until SUBSCRIBED (the agent is local).
        var subscribeRetryInterval: Duration = .milliseconds(500)
        /// An unacknowledged status update is sent again this often while subscribed.
        var updateRetryInterval: Duration = .seconds(2)
        /// Without a subscription for this long (from the start or since the agent was
        /// lost), the executor is told to shut down: its agent is not coming back.
        /// `nil` waits forever. Mesos' default is 15 minutes.
        var recoveryTimeout: Duration? = .seconds(15 * 60)

        /// The defaults, with the agent's recovery timeout when it set one.
        static func forAgent(of environment: ExecutorEnvironment) -> Timing {
            var timing = Timing()
            if let timeout = environment.recoveryTimeout { timing.recoveryTimeout = timeout }
            return timing
        }
    }

    /// What the driver must do, in order.
    enum Directive: Sendable, Equatable {
        case send(Agora_V1_Executor_Call)
        /// Tell the executor the agent accepted its first subscription.
        case notifyRegistered(Agora_V1_Executor_Event.Subscribed)
        /// Tell the executor it subscribed again after losing the agent.
        case notifyReregistered(Agora_V1_Executor_Event.Subscribed)
        /// Tell the executor the agent is lost; `reason` is for the log.
        case notifyDisconnected(reason: String)
        /// Hand a LAUNCH, LAUNCH_GROUP, KILL, MESSAGE, SHUTDOWN or ERROR event to the executor.
        case deliver(Agora_V1_Executor_Event)
        /// The agent stayed away longer than the recovery timeout: shut the executor down.
        case abandon(reason: String)
    }

    /// A status update the agent has not acknowledged yet.
    struct PendingUpdate: Sendable, Equatable {
        var status: Agora_V1_TaskStatus
        /// When to send it again; `nil` while it waits for a subscription.
        var nextSendAt: Duration?
    }

    let timing: Timing
    let frameworkID: String
    let executorID: String
    /// The transport is connected (as the DEALER last reported).
    private(set) var isConnected = false
    /// The agent accepted our SUBSCRIBE on the current connection.
    private(set) var isSubscribed = false
    /// The agent accepted a SUBSCRIBE at least once: later ones are re-registrations.
    private(set) var hasSubscribed = false
    /// Status updates in the order they were sent, until acknowledged.
    private(set) var pendingUpdates: [PendingUpdate] = []
    /// Tasks launched here none of whose updates has been acknowledged yet; the agent
    /// learns of them again with SUBSCRIBE.
    private(set) var unacknowledgedTasks: [Agora_V1_TaskInfo] = []
    /// When to retry SUBSCRIBE while connected and not subscribed.
    private var nextSubscribeAt: Duration?
    /// Since when there has been no subscription (start counts as `.zero`).
    private var unsubscribedSince: Duration = .zero
    private var abandoned = false

    init(frameworkID: String, executorID: String, timing: Timing = Timing()) {
        self.frameworkID = frameworkID
        self.executorID = executorID
        self.timing = timing
    }

    var pendingUpdateCount: Int { pendingUpdates.count }

    // MARK: - Inputs

    /// The DEALER connected (first time or again, perhaps to a restarted agent): every
    /// new connection subscribes, so the agent routes to it.
    mutating func connected(now: Duration) -> [Directive] {
        var directives: [Directive] = []
        isConnected = true
        if isSubscribed {
            isSubscribed = false
            unsubscribedSince = now
            directives.append(.notifyDisconnected(reason: "the connection to the agent was replaced"))
        }
        directives.append(subscribe(now: now))
        return directives
    }

    /// The DEALER lost its connection; SUBSCRIBE waits until it is back.
    mutating func disconnected(now: Duration) -> [Directive] {
        isConnected = false
        nextSubscribeAt = nil
        guard isSubscribed else { return [] }
        isSubscribed = false
        unsubscribedSince = now
        return [.notifyDisconnected(reason: "the connection to the agent was lost")]
    }

    /// An event from the agent.
    mutating func received(_ event: Agora_V1_Executor_Event, now: Duration) -> [Directive] {
        switch event.type {
        case .subscribed:
            return subscribed(event.subscribed, now: now)
        case .launch:
            remember(event.launch.task)
            return [.deliver(event)]
        case .launchGroup:
            for task in event.launchGroup.taskGroup.tasks { remember(task) }
            return [.deliver(event)]
        case .acknowledged:
            acknowledged(event.acknowledged)
            return []
        case .kill, .message, .shutdown, .error:
            return [.deliver(event)]
        default:
            return []  // HEARTBEAT, or a type this build does not know
        }
    }

    /// The agent refused a message: reported to the executor as an error.
    func refused(_ refused: Agora_V1_Refused) -> [Directive] {
        var event = Agora_V1_Executor_Event()
        event.type = .error
        event.error.message = "the agent refused a message: \(refused.reason)"
        return [.deliver(event)]
    }

    /// Time passed: retries SUBSCRIBE, re-sends unacknowledged updates, and gives up on
    /// an agent that stayed away too long.
    mutating func tick(now: Duration) -> [Directive] {
        var directives: [Directive] = []
        if isSubscribed {
            for index in pendingUpdates.indices {
                guard let due = pendingUpdates[index].nextSendAt, now >= due else { continue }
                pendingUpdates[index].nextSendAt = now + timing.updateRetryInterval
                directives.append(.send(updateCall(pendingUpdates[index].status)))
            }
            return directives
        }
        if let timeout = timing.recoveryTimeout, !abandoned, now - unsubscribedSince >= timeout {
            abandoned = true
            directives.append(.abandon(reason: "no subscription to the agent for \(timeout)"))
        }
        if isConnected, let due = nextSubscribeAt, now >= due {
            directives.append(subscribe(now: now))
        }
        return directives
    }

    /// The executor reports `status`, which must carry a task ID and a UUID of its own.
    /// Sent at once when subscribed, otherwise with the next SUBSCRIBE; kept until the
    /// agent acknowledges it.
    mutating func update(_ status: Agora_V1_TaskStatus, now: Duration) throws(ExecutorDriverError) -> [Directive] {
        guard !status.taskID.value.isEmpty else {
            throw ExecutorDriverError(.invalidCall, "a status update needs a task ID")
        }
        guard status.state != .taskStaging else {
            throw ExecutorDriverError(.invalidCall, "an executor may not report TASK_STAGING (task \(status.taskID.value)); the agent does")
        }
        guard status.hasUuid, !status.uuid.isEmpty else {
            throw ExecutorDriverError(.invalidCall, "the status update of task \(status.taskID.value) needs a uuid")
        }
        guard !pendingUpdates.contains(where: { $0.status.uuid == status.uuid }) else {
            throw ExecutorDriverError(.invalidCall, "a status update with this uuid is already waiting for acknowledgement (task \(status.taskID.value))")
        }
        var status = status
        status.source = .executor
        status.executorID.value = executorID
        guard isSubscribed else {
            pendingUpdates.append(PendingUpdate(status: status, nextSendAt: nil))
            return []
        }
        pendingUpdates.append(PendingUpdate(status: status, nextSendAt: now + timing.updateRetryInterval))
        return [.send(updateCall(status))]
    }

    // MARK: - Calls

    /// A MESSAGE call carrying `data`, or `nil` when not subscribed.
    func messageCall(_ data: Data) -> Agora_V1_Executor_Call? {
        guard isSubscribed else { return nil }
        var call = call(.message)
        call.message.data = data
        return call
    }

    /// SUBSCRIBE, listing what the agent has not acknowledged yet.
    var subscribeCall: Agora_V1_Executor_Call {
        var call = call(.subscribe)
        call.subscribe.unacknowledgedTasks = unacknowledgedTasks
        call.subscribe.unacknowledgedUpdates = pendingUpdates.map { pending in
            var update = Agora_V1_Executor_Call.Update()
            update.status = pending.status
            return update
        }
        return call
    }

    func updateCall(_ status: Agora_V1_TaskStatus) -> Agora_V1_Executor_Call {
        var call = call(.update)
        call.update.status = status
        return call
    }

    private func call(_ type: Agora_V1_Executor_Call.TypeEnum) -> Agora_V1_Executor_Call {
        var call = Agora_V1_Executor_Call()
        call.type = type
        call.frameworkID.value = frameworkID
        call.executorID.value = executorID
        return call
    }

    // MARK: - Steps

    private mutating func subscribe(now: Duration) -> Directive {
        nextSubscribeAt = now + timing.subscribeRetryInterval
        return .send(subscribeCall)
    }

    private mutating func subscribed(_ subscribed: Agora_V1_Executor_Event.Subscribed, now: Duration) -> [Directive] {
        // The answer to a retried SUBSCRIBE, or one from a connection that is gone.
        guard isConnected, !isSubscribed else { return [] }
        isSubscribed = true
        nextSubscribeAt = nil
        abandoned = false
        // The updates went with SUBSCRIBE too; sending them as UPDATE as well makes
        // sure an agent that only reads UPDATE checkpoints them (it de-duplicates by uuid).
        var directives: [Directive] = []
        for index in pendingUpdates.indices {
            pendingUpdates[index].nextSendAt = now + timing.updateRetryInterval
            directives.append(.send(updateCall(pendingUpdates[index].status)))
        }
        directives.append(hasSubscribed ? .notifyReregistered(subscribed) : .notifyRegistered(subscribed))
        hasSubscribed = true
        return directives
    }

    private mutating func remember(_ task: Agora_V1_TaskInfo) {
        let taskID = task.taskID.value
        guard !taskID.isEmpty, !unacknowledgedTasks.contains(where: { $0.taskID.value == taskID }) else { return }
        unacknowledgedTasks.append(task)
    }

    private mutating func acknowledged(_ acknowledged: Agora_V1_Executor_Event.Acknowledged) {
        guard let index = pendingUpdates.firstIndex(where: { $0.status.uuid == acknowledged.uuid }) else { return }
        let taskID = pendingUpdates[index].status.taskID.value
        pendingUpdates.remove(at: index)
        unacknowledgedTasks.removeAll { $0.taskID.value == taskID }
    }
}
