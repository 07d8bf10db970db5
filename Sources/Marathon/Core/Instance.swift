import AgoraProto
import Foundation

/// One running copy of an app: in Agora one instance is one task; a replacement is a
/// new instance with a new task ID.
public struct Instance: Codable, Hashable, Sendable {
    /// What the scheduler wants of the instance.
    public enum Goal: String, Codable, Sendable {
        case running
        /// Told to stop; it leaves once its task is terminal.
        case decommissioned
    }

    public struct Health: Codable, Hashable, Sendable {
        public var alive: Bool
        public var consecutiveFailures: Int = 0
        public var firstSuccess: Date?
        public var lastSuccess: Date?
        public var lastFailure: Date?
        public var lastFailureCause: String?
    }

    public let taskID: String
    public let appID: String
    /// The app version the instance was launched with.
    public let appVersion: String
    /// The app's `lastConfigChangeAt` at launch: instances with another one are "old".
    public let configVersion: String
    public let agentID: String
    public let hostname: String
    /// The agent's HTTP address, for reading the task's files.
    public let agentHTTP: String
    public let ports: [UInt64]
    /// The task's latest state (stored by number, so the record stays `Codable`).
    public var state: Agora_V1_TaskState {
        get { Agora_V1_TaskState(rawValue: stateCode) ?? .taskStaging }
        set { stateCode = newValue.rawValue }
    }
    private var stateCode: Int
    public var goal: Goal = .running
    public let stagedAt: Date
    public var startedAt: Date?
    public var health: Health?
    /// The last answer of the app's readiness check, when it has one.
    public var ready: Bool?
    public var unreachableSince: Date?
    /// When the last kill was sent, while `goal` is `decommissioned`.
    public var killRequestedAt: Date?
    public var message: String?

    public init(taskID: String, appID: String, appVersion: String, configVersion: String, agentID: String,
                hostname: String, agentHTTP: String, ports: [UInt64], stagedAt: Date) {
        self.taskID = taskID
        self.appID = appID
        self.appVersion = appVersion
        self.configVersion = configVersion
        self.agentID = agentID
        self.hostname = hostname
        self.agentHTTP = agentHTTP
        self.ports = ports
        self.stateCode = Agora_V1_TaskState.taskStaging.rawValue
        self.stagedAt = stagedAt
    }

    public var isTerminal: Bool { state.isTerminal }
    public var isRunning: Bool { state == .taskRunning }
    public var isUnreachable: Bool { state == .taskUnreachable }

    /// Running, and passing its checks where the app has them.
    public func isHealthy(hasHealthChecks: Bool, hasReadinessChecks: Bool) -> Bool {
        guard isRunning else { return false }
        if hasHealthChecks, health?.alive != true { return false }
        if hasReadinessChecks, ready != true { return false }
        return true
    }
}
