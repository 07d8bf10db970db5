import Resources

/// Settings of the allocator.
public struct AllocatorConfiguration: Sendable {
    /// Role weights for fair sharing between roles.
    public var weights: RoleWeights
    /// Alternatives of the least free resources worth offering: free resources are
    /// offered only if they hold at least one alternative, compared by name whatever
    /// the reservation (Mesos' `min_allocatable_resources`). Empty: anything non-empty.
    public var minimumAllocatable: [Resources]
    /// How long a decline without an explicit filter refuses the declined resources
    /// (Mesos' `refuse_seconds` default); used by `Allocator.decline`.
    public var defaultRefuseSeconds: Duration
    /// Seeds the order in which each cycle visits agents (shuffled per cycle, as Mesos does).
    public var agentShuffleSeed: UInt64

    /// `cpus:0.01` or `mem:32`, as in Mesos.
    public static let defaultMinimumAllocatable: [Resources] = [
        [Resource(name: "cpus", value: .scalar(Scalar(thousandths: 10)))],
        [Resource(name: "mem", value: .scalar(Scalar(32)))],
    ]

    public init(
        weights: RoleWeights = RoleWeights(),
        minimumAllocatable: [Resources] = AllocatorConfiguration.defaultMinimumAllocatable,
        defaultRefuseSeconds: Duration = .seconds(5),
        agentShuffleSeed: UInt64 = 0
    ) {
        self.weights = weights
        self.minimumAllocatable = minimumAllocatable
        self.defaultRefuseSeconds = defaultRefuseSeconds
        self.agentShuffleSeed = agentShuffleSeed
    }
}

/// Resources of one agent handed to one framework for one of its roles; the master
/// turns each into an offer.
public struct Allocation: Equatable, Sendable {
    public var frameworkID: FrameworkID
    public var role: Role
    public var agentID: AgentID
    public var resources: Resources

    public init(frameworkID: FrameworkID, role: Role, agentID: AgentID, resources: Resources) {
        self.frameworkID = frameworkID
        self.role = role
        self.agentID = agentID
        self.resources = resources
    }
}
