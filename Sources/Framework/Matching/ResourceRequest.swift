import Resources

/// What one task asks of an offer: scalar resources, host ports, and the role they
/// must be reserved for.
///
/// Ports are either `portCount` free ports chosen by the matcher, `requiredPorts`
/// that must be free exactly, or both (required ones first). All resources come
/// from the same role: `*` means unreserved resources, any other role means
/// resources reserved for exactly that role.
public struct ResourceRequest: Hashable, Sendable {
    public var cpus: Scalar
    /// Memory in MB.
    public var mem: Scalar
    /// Disk in MB.
    public var disk: Scalar
    public var gpus: Scalar
    /// How many ports the matcher picks, in addition to `requiredPorts`.
    public var portCount: Int
    /// Host ports that must be free in the offer, in the order the task wants them.
    public var requiredPorts: [UInt64]
    public var role: String

    /// Amounts must be finite and not negative; repeated `requiredPorts` are kept once.
    public init(
        cpus: Double = 0, mem: Double = 0, disk: Double = 0, gpus: Double = 0,
        ports portCount: Int = 0, requiredPorts: [UInt64] = [], role: String = Resource.unreservedRole
    ) {
        precondition(cpus >= 0 && mem >= 0 && disk >= 0 && gpus >= 0 && portCount >= 0, "resource amounts must not be negative")
        self.cpus = Scalar(cpus)
        self.mem = Scalar(mem)
        self.disk = Scalar(disk)
        self.gpus = Scalar(gpus)
        self.portCount = portCount
        var seen = Set<UInt64>()
        self.requiredPorts = requiredPorts.filter { seen.insert($0).inserted }
        self.role = role
    }

    /// How many ports the task gets in total.
    public var totalPortCount: Int { requiredPorts.count + portCount }

    /// The scalar amounts by resource name, in canonical order, zero ones included.
    public var scalars: [(name: String, amount: Scalar)] {
        [("cpus", cpus), ("mem", mem), ("disk", disk), ("gpus", gpus)]
    }

    /// The request as `Resources` reserved for `role`, with `ports` as its port ranges.
    ///
    /// `ports` are normally those a `PortPicker` assigned; zero amounts are left out.
    public func resources(withPorts ports: [UInt64] = []) -> Resources {
        var resources = Resources()
        for (name, amount) in scalars {
            resources.add(Resource(name: name, role: role, value: .scalar(amount)))
        }
        resources.add(Resource(name: "ports", role: role, value: .ranges(RangeSet(ports.map { $0...$0 }))))
        return resources
    }
}
