/// A Marathon placement constraint: `["hostname", "UNIQUE"]`, `["rack", "LIKE", "r[12]"]`.
///
/// `field` is `hostname` (the offer's hostname) or the name of an agent attribute,
/// compared by its `valueText`. Read them with `init(parsing:)`; evaluate them with
/// `evaluate(_:existing:candidates:)`.
public struct Constraint: Hashable, Sendable, CustomStringConvertible {
    /// The rule a constraint applies to the field's value.
    public enum Operator: Hashable, Sendable {
        /// No two instances share a value.
        case unique
        /// Every instance on the given value; without one, on the value the first instance got.
        case cluster(String?)
        /// Instances spread evenly over the values; the optional count is the least number of values to spread over.
        case groupBy(Int?)
        /// The value matches the regular expression as a whole.
        case like(String)
        /// The value does not match the regular expression as a whole; agents without the attribute pass.
        case unlike(String)
        /// At most this many instances per value.
        case maxPer(Int)
        /// The value equals this text (or number, for a numeric attribute).
        case `is`(String)

        /// `UNIQUE`, `GROUP_BY`, … as Marathon spells it.
        public var name: String {
            switch self {
            case .unique: "UNIQUE"
            case .cluster: "CLUSTER"
            case .groupBy: "GROUP_BY"
            case .like: "LIKE"
            case .unlike: "UNLIKE"
            case .maxPer: "MAX_PER"
            case .is: "IS"
            }
        }

        /// The third element of the Marathon form, if any.
        public var value: String? {
            switch self {
            case .unique: nil
            case .cluster(let value): value
            case .groupBy(let count): count.map(String.init)
            case .like(let pattern), .unlike(let pattern): pattern
            case .maxPer(let count): String(count)
            case .is(let value): value
            }
        }

        static let names = ["UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS"]
    }

    /// `hostname` or an attribute name.
    public let field: String
    public let `operator`: Operator

    /// Checks what parsing checks: a non-empty field, a valid regex, counts of at least 1.
    public init(field: String, operator: Operator) throws(ConstraintParseError) {
        let parts = [field, `operator`.name] + (`operator`.value.map { [$0] } ?? [])
        guard !field.isEmpty else {
            throw ConstraintParseError(code: .malformed, constraint: parts, reason: "the field is empty")
        }
        switch `operator` {
        case .like(let pattern), .unlike(let pattern):
            do {
                _ = try Regex(pattern)
            } catch {
                throw ConstraintParseError(code: .invalidRegex, constraint: parts,
                                           reason: "\"\(pattern)\" is not a valid regular expression (\(error))")
            }
        case .groupBy(let count?) where count < 1, .maxPer(let count) where count < 1:
            throw ConstraintParseError(code: .invalidNumber, constraint: parts,
                                       reason: "\(`operator`.name) needs a whole number of at least 1, got \(count)")
        default:
            break
        }
        self.field = field
        self.operator = `operator`
    }

    /// Reads the Marathon form `[field, OPERATOR]` or `[field, OPERATOR, value]`.
    ///
    /// Operators are matched without regard to case. CLUSTER and GROUP_BY take an
    /// optional value; LIKE, UNLIKE, MAX_PER and IS need one; UNIQUE takes none.
    public init(parsing parts: [String]) throws(ConstraintParseError) {
        func failure(_ code: ConstraintParseError.Code, _ reason: String) -> ConstraintParseError {
            ConstraintParseError(code: code, constraint: parts, reason: reason)
        }
        guard parts.count == 2 || parts.count == 3 else {
            throw failure(.malformed, "expected [field, OPERATOR] or [field, OPERATOR, value], got \(parts.count) parts")
        }
        let field = parts[0], name = parts[1].uppercased()
        let value: String? = parts.count == 3 && !parts[2].isEmpty ? parts[2] : nil
        func required() throws(ConstraintParseError) -> String {
            guard let value else { throw failure(.missingValue, "\(name) needs a value") }
            return value
        }
        func count(_ text: String) throws(ConstraintParseError) -> Int {
            guard let number = Int(text), number >= 1 else {
                throw failure(.invalidNumber, "\(name) needs a whole number of at least 1, got \"\(text)\"")
            }
            return number
        }
        let parsed: Operator
        switch name {
        case "UNIQUE":
            guard value == nil else { throw failure(.unexpectedValue, "UNIQUE takes no value") }
            parsed = .unique
        case "CLUSTER": parsed = .cluster(value)
        case "GROUP_BY":
            if let value { parsed = .groupBy(try count(value)) } else { parsed = .groupBy(nil) }
        case "LIKE": parsed = .like(try required())
        case "UNLIKE": parsed = .unlike(try required())
        case "MAX_PER": parsed = .maxPer(try count(try required()))
        case "IS": parsed = .is(try required())
        default:
            throw failure(.unknownOperator,
                          "unknown operator \"\(parts[1])\"; expected one of \(Operator.names.joined(separator: ", "))")
        }
        do {
            try self.init(field: field, operator: parsed)
        } catch {
            throw failure(error.code, error.reason)
        }
    }

    /// Reads the command-line form `field:OPERATOR[:value]` (`rack:LIKE:r[12]`); the
    /// value may itself contain colons.
    public init(parsing text: String) throws(ConstraintParseError) {
        try self.init(parsing: text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init))
    }

    /// The Marathon form, e.g. `["rack", "MAX_PER", "2"]`.
    public var parts: [String] {
        [field, `operator`.name] + (`operator`.value.map { [$0] } ?? [])
    }

    /// `hostname:UNIQUE`, `rack:LIKE:r[12]`.
    public var description: String {
        parts.joined(separator: ":")
    }
}
