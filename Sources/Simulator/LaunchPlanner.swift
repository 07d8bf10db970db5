import AgoraProto
import Framework
import Resources

/// Decides what the built-in framework launches on each offer: tasks of
/// `taskResources` until each agent has `tasksPerAgent` of them. Pure.
struct LaunchPlanner: Sendable {
    let tasksPerAgent: Int
    let taskResources: Resources
    private(set) var launchedByAgent: [String: Int] = [:]

    init(tasksPerAgent: Int, taskResources: Resources) {
        self.tasksPerAgent = tasksPerAgent
        self.taskResources = taskResources
    }

    /// Total tasks handed out so far.
    var launchedCount: Int { launchedByAgent.values.reduce(0, +) }

    /// The tasks to launch on `offer` (empty: decline it). Counts them as launched.
    mutating func tasks(for offer: Agora_V1_Offer) -> [Agora_V1_TaskInfo] {
        let agentID = offer.agentID.value
        let launched = launchedByAgent[agentID] ?? 0
        guard launched < tasksPerAgent, var offered = try? OfferResources(offer) else { return [] }
        var tasks: [Agora_V1_TaskInfo] = []
        while launched + tasks.count < tasksPerAgent, offered.take(taskResources) {
            let number = launched + tasks.count
            tasks.append(.command(id: "\(agentID)-task-\(number)", name: "simulated task \(number)",
                                  executable: "/bin/true", arguments: [], resources: taskResources, agentID: agentID))
        }
        launchedByAgent[agentID] = launched + tasks.count
        return tasks
    }
}
