import Resources

/// Everything that shapes the master's behaviour; the CLI builds it from flags.
public struct MasterConfiguration: Sendable {
    /// Unique per master run; prefixes every ID this master hands out.
    public var runID: String
    public var hostname: String
    /// The ZeroMQ endpoint agents and frameworks use, as advertised in `MasterInfo`.
    public var advertisedAddress: String
    public var version: String
    /// Unix time (seconds) at the core's `now == .zero`; only used to stamp updates.
    public var startedAtUnixSeconds: Double
    public var allocationInterval: Duration = .seconds(1)
    /// Offers not answered within this are rescinded; `nil` keeps them until used.
    public var offerTimeout: Duration?
    /// How often the master pings each agent; a ping not answered by the next one is missed.
    public var agentPingTimeout: Duration = .seconds(15)
    /// Consecutive missed pings after which an agent is unreachable.
    public var maxAgentPingTimeouts: Int = 5
    public var frameworkHeartbeatInterval: Duration = .seconds(15)
    /// After a master restart, agents known from the registry that do not re-register
    /// within this are marked unreachable (Mesos' `--agent_reregister_timeout`). It is
    /// also the least time a framework that was connected when the master stopped has
    /// to re-subscribe, whatever its own failover timeout.
    public var agentReregisterTimeout: Duration = .seconds(600)
    /// Role weights given on the command line: they replace the registry's and are
    /// stored. `nil`: the registry's weights apply.
    public var givenWeights: RoleWeights?
    public var allocator: AllocatorConfiguration
    /// How many finished tasks `/state` keeps.
    public var completedTasksKept = 1_000

    public init(runID: String, hostname: String, advertisedAddress: String, version: String,
                startedAtUnixSeconds: Double, weights: RoleWeights? = nil) {
        self.runID = runID
        self.hostname = hostname
        self.advertisedAddress = advertisedAddress
        self.version = version
        self.startedAtUnixSeconds = startedAtUnixSeconds
        self.givenWeights = weights
        self.allocator = AllocatorConfiguration(weights: weights ?? RoleWeights())
    }
}
