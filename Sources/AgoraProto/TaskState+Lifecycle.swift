// Hand-written helpers on generated types (the generated files are never edited).

extension Agora_V1_TaskState {
    /// Whether a task in this state has ended for good.
    public var isTerminal: Bool {
        switch self {
        case .taskFinished, .taskFailed, .taskKilled, .taskError, .taskLost, .taskDropped, .taskGone, .taskGoneByOperator:
            true
        case .taskStaging, .taskStarting, .taskRunning, .taskKilling, .taskUnreachable, .taskUnknown:
            false
        }
    }

    /// The Mesos spelling, e.g. `TASK_RUNNING`, used in JSON and logs.
    public var name: String {
        switch self {
        case .taskStaging: "TASK_STAGING"
        case .taskStarting: "TASK_STARTING"
        case .taskRunning: "TASK_RUNNING"
        case .taskKilling: "TASK_KILLING"
        case .taskFinished: "TASK_FINISHED"
        case .taskFailed: "TASK_FAILED"
        case .taskKilled: "TASK_KILLED"
        case .taskError: "TASK_ERROR"
        case .taskLost: "TASK_LOST"
        case .taskDropped: "TASK_DROPPED"
        case .taskUnreachable: "TASK_UNREACHABLE"
        case .taskGone: "TASK_GONE"
        case .taskGoneByOperator: "TASK_GONE_BY_OPERATOR"
        case .taskUnknown: "TASK_UNKNOWN"
        }
    }
}
