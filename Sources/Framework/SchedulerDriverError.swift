/// Why a `SchedulerDriver` operation failed, with a description a person can act on.
public struct SchedulerDriverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for code that reacts to specific failures.
    public enum Code: Equatable, Sendable {
        /// `start()` was called twice, or after `stop()`.
        case alreadyStarted
        /// The driver is not running (never started, or stopped).
        case notRunning
        /// The driver is not subscribed right now (still subscribing, or
        /// re-subscribing after losing the master). Retry after `subscribed`.
        case notSubscribed
        /// The call is not valid, e.g. an explicit acknowledgement in implicit mode.
        case invalidCall
        /// The `FrameworkIDStore` could not be read.
        case frameworkIDStore
        /// The messaging layer failed (bad master address, endpoint closed).
        case messaging
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
