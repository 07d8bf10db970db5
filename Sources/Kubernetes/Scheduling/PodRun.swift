import AgoraProto
import Foundation

/// One launch attempt of a pod: where its task group runs and what its tasks last reported.
public struct PodRun: Hashable, Sendable {
    /// The latest state of the task that runs one container.
    public struct ContainerTask: Hashable, Sendable {
        public var taskID: String
        public var state: Agora_V1_TaskState
        /// When the task first reported TASK_RUNNING.
        public var startedAt: Date?
        /// When the task reported a terminal state.
        public var finishedAt: Date?
        public var exitCode: Int32?
        public var message: String

        public init(taskID: String, state: Agora_V1_TaskState = .taskStaging, startedAt: Date? = nil,
                    finishedAt: Date? = nil, exitCode: Int32? = nil, message: String = "") {
            self.taskID = taskID
            self.state = state
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.exitCode = exitCode
            self.message = message
        }
    }

    public var agentID: String
    public var nodeName: String
    public var hostIP: String
    /// 0 for the first launch; the pod's restart count.
    public var attempt: Int
    public var launchedAt: Date
    /// By container name.
    public var containers: [String: ContainerTask]

    public init(agentID: String, nodeName: String, hostIP: String, attempt: Int, launchedAt: Date,
                containers: [String: ContainerTask]) {
        self.agentID = agentID
        self.nodeName = nodeName
        self.hostIP = hostIP
        self.attempt = attempt
        self.launchedAt = launchedAt
        self.containers = containers
    }

    /// Whether every task has ended.
    public var hasEnded: Bool { !containers.isEmpty && containers.values.allSatisfy { $0.state.isTerminal } }

    /// Whether every task finished with status 0.
    public var succeeded: Bool { hasEnded && containers.values.allSatisfy { $0.state == .taskFinished } }

    /// Records a status update of one of the run's tasks; returns false when the task is not part of it.
    public mutating func apply(taskID: String, state: Agora_V1_TaskState, at time: Date, exitCode: Int32?,
                               message: String) -> Bool {
        guard let name = containers.first(where: { $0.value.taskID == taskID })?.key,
              var task = containers[name] else { return false }
        // A late duplicate must not take a finished task back to running.
        guard !task.state.isTerminal || state.isTerminal else { return true }
        task.state = state
        task.message = message
        if state == .taskRunning, task.startedAt == nil { task.startedAt = time }
        if state.isTerminal {
            task.finishedAt = task.finishedAt ?? time
            task.exitCode = exitCode ?? task.exitCode
        }
        containers[name] = task
        return true
    }
}
