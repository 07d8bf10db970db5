import AgoraProto
import Foundation
import Messaging
import Resources

/// A task, identified within its framework.
public struct AgentTaskKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var frameworkID: String
    public var taskID: String

    public init(frameworkID: String, taskID: String) {
        self.frameworkID = frameworkID
        self.taskID = taskID
    }

    public static func < (lhs: AgentTaskKey, rhs: AgentTaskKey) -> Bool {
        (lhs.frameworkID, lhs.taskID) < (rhs.frameworkID, rhs.taskID)
    }

    public var description: String { "\(taskID) (framework \(frameworkID))" }
}

/// An executor, identified within its framework.
public struct ExecutorKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var frameworkID: String
    public var executorID: String

    public init(frameworkID: String, executorID: String) {
        self.frameworkID = frameworkID
        self.executorID = executorID
    }

    public static func < (lhs: ExecutorKey, rhs: ExecutorKey) -> Bool {
        (lhs.frameworkID, lhs.executorID) < (rhs.frameworkID, rhs.executorID)
    }

    public var description: String { "executor \(executorID) of framework \(frameworkID)" }
}

/// Which program runs an executor.
public enum ExecutorProgram: Sendable, Equatable {
    /// Agora's built-in executor (the `agora-executor` program), for command tasks and task groups.
    case builtIn
    /// A framework's own executor, started from its `CommandInfo`.
    case custom(Agora_V1_CommandInfo)
}

/// Everything the shell needs to start an executor in a new container.
public struct ExecutorLaunch: Sendable, Equatable {
    public var key: ExecutorKey
    public var containerID: String
    public var program: ExecutorProgram
    public var executorInfo: Agora_V1_ExecutorInfo
    public var frameworkInfo: Agora_V1_FrameworkInfo
    /// What the container may use: the executor's resources plus its first tasks'.
    public var resources: Resources
    /// Host ports assigned to the tasks (`PORT0`, `PORT1`, … in the environment).
    public var ports: [UInt64]
    /// The framework's shared command executor (`AGORA_EXECUTOR_SHARED`), which starts
    /// each task in a container of its own (see ``TaskContainerLaunch``).
    public var isShared = false
}

/// A command task handed to its framework's shared executor: the shell makes the
/// task's container (sandbox and cgroups), completes the LAUNCH event's `container`
/// with its directory, cgroups and environment, and sends it. If the container cannot
/// be made, it reports that with `AgentCore.taskContainerFailed` and sends nothing.
public struct TaskContainerLaunch: Sendable, Equatable {
    public var executor: ExecutorKey
    /// The LAUNCH event, whose `container` names the task's own container.
    public var event: Agora_V1_Executor_Event
    public var peer: PeerID

    public var task: AgentTaskKey {
        AgentTaskKey(frameworkID: executor.frameworkID, taskID: event.launch.task.taskID.value)
    }
    /// The task's own container.
    public var containerID: String { event.launch.container.containerID }
    /// What the task's container may use: the task's resources.
    public var resources: Resources { (try? Resources(proto: event.launch.task.resources)) ?? Resources() }
    /// Host ports assigned to the task.
    public var ports: [UInt64] { resources.ports.ranges.flatMap { Array($0) } }
}

/// What the agent's core asks its shell to do.
public enum AgentDirective: Sendable, Equatable {
    case sendToMaster(Agora_V1_Envelope)
    case sendToExecutor(Agora_V1_Envelope, peer: PeerID)
    /// Create the sandbox and container, and start the executor process.
    case launchExecutor(ExecutorLaunch)
    /// Create a command task's own container and hand the task to its shared executor.
    case launchTask(TaskContainerLaunch)
    /// Stop the container: SIGTERM to its processes, SIGKILL after `gracePeriod`.
    case destroyContainer(key: ExecutorKey, containerID: String, gracePeriod: Duration)
    /// Write the update durably (fsync) before it is sent.
    case checkpointUpdate(Agora_V1_StatusUpdate)
    /// Remember the agent ID in the work dir.
    case checkpointAgentID(String)
    /// Remove the sandbox of a finished container after the GC delay.
    case scheduleSandboxRemoval(key: ExecutorKey, containerID: String)
    case log(String)
}

/// A task as the agent tracks it.
public struct AgentTask: Sendable {
    public var key: AgentTaskKey
    public var executorID: String
    public var info: Agora_V1_TaskInfo
    public internal(set) var state: Agora_V1_TaskState
    /// Whether the task was handed to its executor (false while the executor starts).
    public internal(set) var launched = false
    /// The task's own container, for a command task run by its framework's shared
    /// executor (the task's files are in that container's sandbox); `nil` when the task
    /// lives in its executor's container.
    public internal(set) var containerID: String?
    /// UUIDs of the executor's updates already taken, so a re-sent one is not forwarded twice.
    var seenUpdates: Set<Data> = []
    /// The container the task's executor ran in, noted when the task leaves it, so the
    /// task's files can be found after the executor is gone.
    public internal(set) var endedContainer: EndedContainer?

    public struct EndedContainer: Sendable, Equatable {
        public var containerID: String
        public var isBuiltIn: Bool
    }
}

/// An executor and its container as the agent tracks them.
public struct AgentExecutor: Sendable {
    /// `recovering`: known from the checkpoint after an agent restart, waiting for
    /// the executor to reconnect.
    public enum Phase: Sendable, Equatable { case launching, recovering, running, terminating }

    public var key: ExecutorKey
    public var containerID: String
    public var info: Agora_V1_ExecutorInfo
    public var isBuiltIn: Bool
    /// The framework's shared command executor: it runs the framework's command tasks
    /// on this agent, each in its own container, and is shut down once idle.
    public internal(set) var isShared = false
    public internal(set) var phase: Phase = .launching
    public internal(set) var tasks: Set<String> = []
    var peer: PeerID?
    var launchedAt: Duration
    /// Launch events to deliver once the executor subscribes.
    var queued: [Agora_V1_Executor_Event] = []
    /// Since when a shared executor has had no task left to run.
    var idleSince: Duration?
}

/// One task's status updates, delivered to the master in order, one at a time,
/// retried until the framework acknowledges each.
struct StatusUpdateStream: Sendable {
    var pending: [Agora_V1_StatusUpdate] = []
    var nextRetryAt: Duration = .zero
    var backoff: Duration = .zero
}

/// Counters for the agent's `/metrics`.
public struct AgentCounters: Sendable {
    public var tasksLaunched = 0
    public var statusUpdatesSent = 0
    public var statusUpdateRetries = 0
    public var acknowledgements = 0
    public var executorsLaunched = 0
    public var executorsExited = 0
    public var invalidMessages = 0
}
