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
    /// Further `TASK_RUNNING` updates every task sends once all tasks run, each after
    /// the previous one of the task was acknowledged (0: none). Needs `tasksPerAgent > 0`.
    public private(set) var updateRounds = 0
    /// How long after all tasks run the update rounds start.
    public private(set) var updateRoundsDelay: Duration = .seconds(2)

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

    /// Asks every task to send `rounds` further status updates, `delay` after all tasks run.
    ///
    /// - Throws: `SimulationError` (`invalidOptions`) when `rounds` is negative, the delay
    ///   is negative, or rounds are asked for while no tasks are launched.
    public mutating func setUpdateRounds(_ rounds: Int, delay: Duration) throws(SimulationError) {
        guard rounds >= 0 else {
            throw SimulationError(.invalidOptions, "--update-rounds must be 0 or more (got \(rounds))")
        }
        guard delay >= .zero else {
            throw SimulationError(.invalidOptions, "--update-delay must be 0 or more seconds (got \(delay))")
        }
        guard rounds == 0 || tasksPerAgent > 0 else {
            throw SimulationError(.invalidOptions, "--update-rounds needs tasks to send the updates: give --tasks-per-agent")
        }
        updateRounds = rounds
        updateRoundsDelay = delay
    }
}
