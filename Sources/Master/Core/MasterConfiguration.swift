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
    public var allocator: AllocatorConfiguration
    /// How many finished tasks `/state` keeps.
    public var completedTasksKept = 1_000

    public init(runID: String, hostname: String, advertisedAddress: String, version: String,
                startedAtUnixSeconds: Double, weights: RoleWeights = RoleWeights()) {
        self.runID = runID
        self.hostname = hostname
        self.advertisedAddress = advertisedAddress
        self.version = version
        self.startedAtUnixSeconds = startedAtUnixSeconds
        self.allocator = AllocatorConfiguration(weights: weights)
    }
}
