/// A resource or attribute string that could not be parsed, with the offending
/// token and its position so a person can find and fix it.
public struct ResourceParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `;`-separated token that is wrong, trimmed.
    public let token: String
    /// Character offset of the token in the input (0-based).
    public let position: Int
    /// What is wrong with it.
    public let reason: String

    public init(token: String, position: Int, reason: String) {
        self.token = token
        self.position = position
        self.reason = reason
    }

    public var description: String {
        "invalid resource \"\(token)\" at position \(position): \(reason)"
    }
}
