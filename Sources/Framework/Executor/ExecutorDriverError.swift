/// Why an `ExecutorDriver` operation failed, with a description a person can act on.
public struct ExecutorDriverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for code that reacts to specific failures.
    public enum Code: Equatable, Sendable {
        /// Variables the agent sets (`AGORA_AGENT_ENDPOINT`, `AGORA_FRAMEWORK_ID`,
        /// `AGORA_EXECUTOR_ID`) are missing: the process was not started by an agent.
        case missingEnvironment
        /// A variable the agent sets has a value that cannot be used.
        case invalidEnvironment
        /// `start()` was called twice, or after `stop()`.
        case alreadyStarted
        /// The driver is not running (never started, stopping, or stopped).
        case notRunning
        /// The executor is not subscribed to its agent right now (still subscribing,
        /// or re-subscribing after losing the agent).
        case notSubscribed
        /// The call is not valid, e.g. a status update without a task ID.
        case invalidCall
        /// The messaging layer failed (bad agent endpoint, outbox full).
        case messaging
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
