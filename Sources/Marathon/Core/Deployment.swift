import Foundation

/// A change to one app being carried out: start, scale, restart (any change of
/// configuration, or `/restart`) or stop. One app has at most one running deployment.
///
/// Unlike Marathon, a deployment ends: `succeeded`, `canceled` (forced over or rolled
/// back) or `failed` when it made no progress for the configured timeout.
public struct Deployment: Codable, Hashable, Sendable {
    public typealias Action = DeploymentActionKind

    public enum Status: String, Codable, Sendable {
        case running, succeeded, failed, canceled
    }

    public let id: String
    public let appID: String
    /// The actions as Marathon's steps: one action per step.
    public let steps: [Action]
    public var currentStep: Int
    /// The app before the change (nil when the deployment created it).
    public let original: AppDefinition?
    /// The app after the change (nil when it removes it).
    public let target: AppDefinition?
    public let version: String
    public let startedAt: Date
    public var lastProgressAt: Date
    public var status: Status = .running
    public var reason: String?
    public var finishedAt: Date?

    public init(id: String, appID: String, steps: [Action], original: AppDefinition?, target: AppDefinition?,
                version: String, startedAt: Date) {
        self.id = id
        self.appID = appID
        self.steps = steps
        self.currentStep = 1
        self.original = original
        self.target = target
        self.version = version
        self.startedAt = startedAt
        self.lastProgressAt = startedAt
    }

    public var isRunning: Bool { status == .running }
    public var currentAction: Action { steps[min(currentStep, steps.count) - 1] }
}
