import AgoraProto

extension Agora_V1_Offer.Operation {
    /// A LAUNCH operation for `tasks`.
    public static func launch(_ tasks: [Agora_V1_TaskInfo]) -> Agora_V1_Offer.Operation {
        var operation = Agora_V1_Offer.Operation()
        operation.type = .launch
        operation.launch.taskInfos = tasks
        return operation
    }

    /// A LAUNCH_GROUP operation: `tasks` start together under `executor`.
    public static func launchGroup(executor: Agora_V1_ExecutorInfo, tasks: [Agora_V1_TaskInfo]) -> Agora_V1_Offer.Operation {
        var operation = Agora_V1_Offer.Operation()
        operation.type = .launchGroup
        operation.launchGroup.executor = executor
        operation.launchGroup.taskGroup.tasks = tasks
        return operation
    }
}
