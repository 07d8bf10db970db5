import Resources

/// Why one offer cannot take one task: a resource it lacks or a constraint it fails.
///
/// `description` is the sentence for a person (`mem: needs 512, offer has 256 left`);
/// `category` is what summaries count (`short of mem`).
public enum Rejection: Hashable, Sendable, CustomStringConvertible {
    /// A scalar resource is short; `resource` is its label, with the role when reserved (`mem(ops)`).
    case insufficient(resource: String, needed: Scalar, available: Scalar)
    /// Fewer free ports are left than the task needs in total.
    case insufficientPorts(resource: String, needed: Int, available: UInt64)
    /// Required host ports are not free; `free` is what the offer has left.
    case portsUnavailable(resource: String, ports: [UInt64], free: RangeSet)
    /// A placement constraint refused the offer; `reason` starts with the constraint (`hostname UNIQUE: …`).
    case constraint(Constraint, reason: String)

    public var description: String {
        switch self {
        case let .insufficient(resource, needed, available):
            "\(resource): needs \(needed), offer has \(available) left"
        case let .insufficientPorts(resource, needed, available):
            "\(resource): needs \(needed), offer has \(available) left"
        case let .portsUnavailable(resource, ports, free):
            "\(resource): needs \(ports.count == 1 ? "port" : "ports") \(ports.map(String.init).joined(separator: ", ")), "
                + "offer has \(free.isEmpty ? "none" : free.description) left"
        case let .constraint(_, reason):
            reason
        }
    }

    /// The group a summary counts this under: `short of mem`, `rejected by constraint hostname:UNIQUE`.
    public var category: String {
        switch self {
        case let .insufficient(resource, _, _),
             let .insufficientPorts(resource, _, _),
             let .portsUnavailable(resource, _, _):
            "short of \(resource)"
        case let .constraint(constraint, _):
            "rejected by constraint \(constraint)"
        }
    }
}
