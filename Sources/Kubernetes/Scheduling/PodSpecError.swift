/// A pod's spec cannot be scheduled as written: an unreadable quantity, a container
/// without a name, an affinity term with an unknown operator. `message` names the field.
public struct PodSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
