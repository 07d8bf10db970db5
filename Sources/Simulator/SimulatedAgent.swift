import AgoraProto

/// One simulated agent's registration state and the tasks it "runs".
struct SimulatedAgent: Sendable {
    enum Phase: Sendable, Equatable {
        case unregistered, registering, registered, reregistering
        /// The master told the agent to shut down; it stays silent from then on.
        case shutDown
    }

    let index: Int
    let connection: Int
    var agentID: String? { didSet { encodedReport = nil } }
    var phase: Phase = .unregistered
    /// The master run the agent is registered with (from `MasterInfo.id`).
    var masterID: String?
    var nextAttemptAt: Duration = .zero
    var backoff: Duration
    var frameworks: [String: Agora_V1_FrameworkInfo] = [:] { didSet { encodedReport = nil } }
    var tasks: [SimulatedTaskKey: SimulatedTask] = [:] { didSet { encodedReport = nil } }
    /// The re-registration reporting the fields above, encoded; cleared when one changes.
    var encodedReport: [UInt8]?
}

/// A task on a simulated agent, by framework and task ID.
struct SimulatedTaskKey: Hashable, Comparable, Sendable {
    let frameworkID: String
    let taskID: String

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.frameworkID, lhs.taskID) < (rhs.frameworkID, rhs.taskID)
    }
}

/// A simulated task: no process, just the state a real agent would report for it.
struct SimulatedTask: Sendable {
    var info: Agora_V1_TaskInfo
    let executorID: String
    var state: Agora_V1_TaskState
    /// Status updates not yet acknowledged, oldest first; the head is (re)sent.
    var pendingUpdates: [Agora_V1_StatusUpdate] = []
    var nextRetryAt: Duration = .zero
    var backoff: Duration = .zero
}
