/// One named quantity, possibly reserved for a role: `cpus:4`, `mem(ops):1024`,
/// `ports:[31000-32000]`, `zones:{a,b}`.
public struct Resource: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The value of a resource: a number, port-style ranges, or a set of names.
    public enum Value: Hashable, Sendable, Codable {
        case scalar(Scalar)
        case ranges(RangeSet)
        case set(Set<String>)

        /// Whether the value holds nothing (and the resource can be dropped).
        public var isEmpty: Bool {
            switch self {
            case .scalar(let scalar): scalar.thousandths <= 0
            case .ranges(let ranges): ranges.isEmpty
            case .set(let items): items.isEmpty
            }
        }

        var kind: Int {
            switch self {
            case .scalar: 0
            case .ranges: 1
            case .set: 2
            }
        }

        public var description: String {
            switch self {
            case .scalar(let scalar): scalar.description
            case .ranges(let ranges): ranges.description
            case .set(let items): "{" + items.sorted().joined(separator: ",") + "}"
            }
        }
    }

    /// The unreserved role.
    public static let unreservedRole = "*"

    public var name: String
    /// `*` when unreserved, otherwise the role it is reserved for.
    public var role: String
    public var value: Value

    public init(name: String, role: String = Resource.unreservedRole, value: Value) {
        self.name = name
        self.role = role
        self.value = value
    }

    public var isReserved: Bool { role != Self.unreservedRole }

    /// `cpus:4` or `cpus(ops):4`.
    public var description: String {
        let label = isReserved ? "\(name)(\(role))" : name
        return "\(label):\(value.description)"
    }

    /// Where this resource sorts in a canonical `Resources`: well-known names first.
    func precedes(_ other: Resource) -> Bool {
        let rank = Self.rank(of: name), otherRank = Self.rank(of: other.name)
        if rank != otherRank { return rank < otherRank }
        if name != other.name { return name < other.name }
        if role != other.role {
            if role == Self.unreservedRole { return true }
            if other.role == Self.unreservedRole { return false }
            return role < other.role
        }
        return value.kind < other.value.kind
    }

    /// Whether two entries describe the same thing and so merge.
    func sharesKey(with other: Resource) -> Bool {
        name == other.name && role == other.role && value.kind == other.value.kind
    }

    private static func rank(of name: String) -> Int {
        switch name {
        case "cpus": 0
        case "mem": 1
        case "disk": 2
        case "gpus": 3
        case "ports": 4
        default: 5
        }
    }
}
