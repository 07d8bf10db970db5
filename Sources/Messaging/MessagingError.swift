/// An error from the messaging layer, with a description a person can act on.
public struct MessagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for code that reacts to specific failures.
    public enum Code: Equatable, Sendable {
        /// A ZeroMQ call failed; `description` carries libzmq's message.
        case zeroMQ(errno: Int32)
        /// The address could not be parsed or used.
        case invalidAddress
        /// The envelope could not be serialized.
        case encodingFailed
        /// The serialized envelope exceeds `EndpointOptions.maxMessageSize`.
        case messageTooLarge
        /// The outbox is full (only from `trySend`).
        case queueFull
        /// The endpoint has been shut down.
        case closed
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
