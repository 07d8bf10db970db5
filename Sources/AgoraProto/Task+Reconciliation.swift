extension Agora_V1_Task {
    /// The status an agent reports for this task of a `ReconcileAgentTasks` when it does
    /// not know the task: the master's choice in `statuses[0]`, or TASK_LOST when that is
    /// missing or not terminal.
    public var statusIfUnknown: Agora_V1_TaskStatus {
        var status = Agora_V1_TaskStatus()
        status.taskID = taskID
        status.state = .taskLost
        status.reason = .reconciliation
        status.message = "the agent does not know this task"
        if let chosen = statuses.first, chosen.state.isTerminal {
            status.state = chosen.state
            status.reason = chosen.reason
            status.message = chosen.message
        }
        return status
    }
}
