/// A placement constraint that could not be read, with the constraint as given and
/// what to change.
public struct ConstraintParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of mistake it is; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// Too few or too many parts, or an empty field.
        public static let malformed = Code("malformed")
        public static let unknownOperator = Code("unknown operator")
        /// The operator needs a value and none was given.
        public static let missingValue = Code("missing value")
        /// The operator takes no value and one was given.
        public static let unexpectedValue = Code("unexpected value")
        /// The LIKE/UNLIKE pattern is not a regular expression.
        public static let invalidRegex = Code("invalid regex")
        /// The MAX_PER/GROUP_BY count is not a whole number of at least 1.
        public static let invalidNumber = Code("invalid number")
    }

    public let code: Code
    /// The constraint as given, e.g. `["rack", "LIKE", "r[12"]`.
    public let constraint: [String]
    /// What is wrong, in words.
    public let reason: String

    public init(code: Code, constraint: [String], reason: String) {
        self.code = code
        self.constraint = constraint
        self.reason = reason
    }

    public var description: String {
        let shown = "[" + constraint.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return "invalid constraint \(shown): \(reason)"
    }
}
