import AgoraProto
import Messaging
import Resources

/// What the master's core asks its shell to do.
public enum MasterDirective: Sendable, Equatable {
    /// Send an envelope to a connected peer.
    case send(Agora_V1_Envelope, to: PeerID)
    /// Something an operator wants in the log (agent admitted, marked unreachable, …).
    case log(String)
    /// Store a change in the registry. The shell stores the changes of one input
    /// (in order, as one batch) before it sends any of that input's messages.
    case persist(RegistryChange)
}

/// A task, identified within its framework.
public struct TaskKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var frameworkID: FrameworkID
    public var taskID: String

    public init(frameworkID: FrameworkID, taskID: String) {
        self.frameworkID = frameworkID
        self.taskID = taskID
    }

    public static func < (lhs: TaskKey, rhs: TaskKey) -> Bool {
        (lhs.frameworkID, lhs.taskID) < (rhs.frameworkID, rhs.taskID)
    }

    public var description: String { "\(taskID) of framework \(frameworkID)" }
}

/// An executor, identified within its framework on one agent.
struct ExecutorKey: Hashable, Sendable {
    var frameworkID: FrameworkID
    var agentID: AgentID
    var executorID: String
}

/// An agent as the master knows it.
public struct AgentRecord: Sendable {
    public var id: AgentID
    public var hostname: String
    public var info: Agora_V1_AgentInfo
    public var total: Resources
    public var attributes: Attributes
    public var httpAddress: String
    public var bootID: String
    public var version: String
    public internal(set) var isReachable = true
    /// Known from the registry only: it has not re-registered with this master since
    /// a master restart, so it is not offered and its tasks are unknown. Such an
    /// agent is "recovering" until it re-registers or the re-registration timeout
    /// marks it unreachable (`unreachableSince` set).
    public internal(set) var isRecovered = false
    public internal(set) var registeredAt: Duration
    public internal(set) var unreachableSince: Duration?
    var peer: PeerID
    var pingsSent: UInt64 = 0
    var lastPong: UInt64 = 0
    var missedPings = 0
    var nextPingAt: Duration
    public internal(set) var tasks: Set<TaskKey> = []
    /// Tasks its last report lacked that the agent has yet to confirm (see
    /// `ReconcileAgentTasks`), sent with every ping until a pong answers one of those.
    var tasksToReconcile: Set<TaskKey> = []
    /// The first ping that carried `tasksToReconcile` (0: none yet).
    var reconcilingSince: UInt64 = 0
    /// The executors charged on the agent (their resources are in `MasterCore.executors`),
    /// each with `pingsSent` when the master last launched a task on it or learnt it
    /// from a report: only a pong to a later ping tells whether the agent still runs it.
    var chargedExecutors: [ExecutorKey: UInt64] = [:]

    /// The master sent a launch on `executor` (or learnt of it from a report).
    mutating func noteLaunch(on executor: ExecutorKey) {
        chargedExecutors[executor] = pingsSent
    }

    /// Waiting to re-register after a master restart (tasks unknown, not yet unreachable).
    public var isRecovering: Bool { isRecovered && unreachableSince == nil }
}

/// A framework as the master knows it.
public struct FrameworkRecord: Sendable {
    public var id: FrameworkID
    public var info: Agora_V1_FrameworkInfo
    public internal(set) var roles: Set<Role>
    public internal(set) var suppressedRoles: Set<Role>
    public internal(set) var isConnected: Bool
    public internal(set) var registeredAt: Duration
    public internal(set) var disconnectedAt: Duration?
    /// While disconnected: when the framework is torn down unless it re-subscribes.
    public internal(set) var failoverDeadline: Duration?
    public internal(set) var offers: Set<OfferID> = []
    public internal(set) var tasks: Set<String> = []
    var peer: PeerID?
    var nextHeartbeatAt: Duration

    public var isPartitionAware: Bool {
        info.capabilities.contains { $0.type == .partitionAware }
    }

    public var failoverTimeout: Duration {
        let seconds = info.failoverTimeout
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .milliseconds(Int64(min(seconds, 1e9) * 1_000))
    }
}

/// Resources offered to one framework on one agent, waiting for an answer.
public struct OfferRecord: Sendable {
    public var id: OfferID
    public var frameworkID: FrameworkID
    public var agentID: AgentID
    public var role: Role
    public var resources: Resources
    public var createdAt: Duration
}

/// A task the master tracks, from launch to its terminal update.
public struct TaskRecord: Sendable {
    public var key: TaskKey
    public var agentID: AgentID
    public var executorID: String?
    /// The task's name (the rest of its `TaskInfo` went to the agent; keeping it all
    /// cost memory and, on a failover, time).
    public var name: String
    public var resources: Resources
    public internal(set) var state: Agora_V1_TaskState
    public internal(set) var latestStatus: Agora_V1_TaskStatus?
    /// Whether the task's resources are still accounted as used on its agent.
    var holdsResources = true
}

/// Counters exported on `/metrics`.
public struct MasterCounters: Sendable {
    public var agentsRegistered = 0
    public var agentsReregistered = 0
    public var agentsMarkedUnreachable = 0
    /// Re-registrations refused because the agent was removed (gone).
    public var goneAgentsRefused = 0
    public var frameworksSubscribed = 0
    public var frameworksTornDown = 0
    public var offersSent = 0
    public var offersDeclined = 0
    public var offersAccepted = 0
    public var offersRescinded = 0
    public var tasksLaunched = 0
    public var tasksInvalid = 0
    public var statusUpdates = 0
    public var invalidCalls = 0
    /// Messages naming an agent or framework that is connected elsewhere.
    public var misaddressedMessages = 0
    public var allocationRuns = 0
}
