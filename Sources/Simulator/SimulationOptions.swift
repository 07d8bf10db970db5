import Resources

/// Everything `agora simulate` needs, validated.
public struct SimulationOptions: Sendable {
    /// The master's ZeroMQ endpoint, `tcp://HOST:PORT`.
    public let masterAddress: String
    public let fleet: FleetConfiguration
    /// Tasks the built-in framework launches on every agent (0: it only declines offers).
    public let tasksPerAgent: Int
    /// What each simulated task uses.
    public let taskResources: Resources
    /// Filter (seconds) on declined and left-over resources, so offers keep coming.
    public var refuseSeconds: Double = 5
    /// How often registrations and update retries are checked.
    public var tickInterval: Duration = .milliseconds(100)

    /// - Throws: `SimulationError` (`invalidOptions`) when `tasksPerAgent` is negative,
    ///   the task resources are empty, or that many tasks do not fit on one agent.
    public init(masterAddress: String, fleet: FleetConfiguration, tasksPerAgent: Int,
                taskResources: Resources) throws(SimulationError) {
        guard tasksPerAgent >= 0 else {
            throw SimulationError(.invalidOptions, "--tasks-per-agent must be 0 or more (got \(tasksPerAgent))")
        }
        if tasksPerAgent > 0 {
            guard !taskResources.isEmpty else {
                throw SimulationError(.invalidOptions, "the task resources are empty; give e.g. cpus:0.1;mem:32")
            }
            var needed = Resources()
            for _ in 0..<tasksPerAgent { needed += taskResources }
            guard fleet.resources.contains(needed) else {
                throw SimulationError(.invalidOptions, "\(tasksPerAgent) tasks of \(taskResources) do not fit on an agent "
                    + "with \(fleet.resources); lower --tasks-per-agent or the task resources")
            }
        }
        self.masterAddress = masterAddress
        self.fleet = fleet
        self.tasksPerAgent = tasksPerAgent
        self.taskResources = taskResources
    }
}
