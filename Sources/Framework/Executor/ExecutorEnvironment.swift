import Messaging

/// Who an executor is and where its agent listens, as the agent tells it through
/// the environment of the executor's process.
public struct ExecutorEnvironment: Sendable, Equatable {
    /// The variables without which an executor cannot reach its agent.
    public static let requiredVariables = ["AGORA_AGENT_ENDPOINT", "AGORA_FRAMEWORK_ID", "AGORA_EXECUTOR_ID"]

    /// The agent's executor socket (`AGORA_AGENT_ENDPOINT`, `ipc://PATH`).
    public var agentEndpoint: String
    /// `AGORA_FRAMEWORK_ID`.
    public var frameworkID: String
    /// `AGORA_EXECUTOR_ID`.
    public var executorID: String
    /// The sandbox directory (`AGORA_SANDBOX`), when set.
    public var sandbox: String?
    /// The agent's ID (`AGORA_AGENT_ID`), when set and not empty.
    public var agentID: String?
    /// The executor's container (`AGORA_CONTAINER_ID`), when set.
    public var containerID: String?
    /// How long to wait for a lost agent before giving up (`AGORA_RECOVERY_TIMEOUT_SECONDS`,
    /// from `agora agent --recovery-timeout`), when set.
    public var recoveryTimeout: Duration?

    public init(agentEndpoint: String, frameworkID: String, executorID: String,
                sandbox: String? = nil, agentID: String? = nil, containerID: String? = nil,
                recoveryTimeout: Duration? = nil) {
        self.agentEndpoint = agentEndpoint
        self.frameworkID = frameworkID
        self.executorID = executorID
        self.sandbox = sandbox
        self.agentID = agentID
        self.containerID = containerID
        self.recoveryTimeout = recoveryTimeout
    }

    /// Reads the `AGORA_*` variables the agent sets.
    ///
    /// - Throws: `missingEnvironment`, naming every required variable that is unset or
    ///   empty; `invalidEnvironment` for a recovery timeout that is not a positive number.
    public init(_ environment: [String: String]) throws(ExecutorDriverError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        let missing = Self.requiredVariables.filter { value($0) == nil }
        guard missing.isEmpty, let endpoint = value("AGORA_AGENT_ENDPOINT"),
              let frameworkID = value("AGORA_FRAMEWORK_ID"), let executorID = value("AGORA_EXECUTOR_ID") else {
            throw ExecutorDriverError(.missingEnvironment, """
                missing environment variable\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")): \
                an executor is started by an Agora agent, which sets \(Self.requiredVariables.joined(separator: ", ")); \
                to run one by hand, set them yourself
                """)
        }
        var recoveryTimeout: Duration?
        if let text = value("AGORA_RECOVERY_TIMEOUT_SECONDS") {
            guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
                throw ExecutorDriverError(.invalidEnvironment,
                    "AGORA_RECOVERY_TIMEOUT_SECONDS must be a positive number of seconds (got \"\(text)\")")
            }
            recoveryTimeout = .seconds(fractional: seconds)
        }
        self.init(agentEndpoint: endpoint, frameworkID: frameworkID, executorID: executorID,
                  sandbox: value("AGORA_SANDBOX"), agentID: value("AGORA_AGENT_ID"),
                  containerID: value("AGORA_CONTAINER_ID"), recoveryTimeout: recoveryTimeout)
    }
}
