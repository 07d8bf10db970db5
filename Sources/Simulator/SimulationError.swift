/// Why a simulation could not start or had to stop.
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// An option is out of range or unparsable.
        public static let invalidOptions = Code(description: "invalid options")
        /// The master's address cannot be used.
        public static let messaging = Code(description: "messaging")

        public let description: String
    }

    public let code: Code
    /// What went wrong, in words a person can act on.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
