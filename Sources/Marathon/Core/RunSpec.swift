import Framework
import Foundation

/// What the scheduler core needs of an app, read once from its definition: the
/// numbers and rules that drive launching, killing and deployments.
public struct RunSpec: Hashable, Sendable {
    public enum KillSelection: String, Hashable, Sendable { case youngestFirst, oldestFirst }

    /// When an unreachable instance is replaced; nil = never (`"disabled"`).
    public struct UnreachablePolicy: Hashable, Sendable {
        public var inactiveAfterSeconds: Double
        public var expungeAfterSeconds: Double
    }

    public var id: String
    public var version: String
    /// The version of the last configuration change; instances launched with another are "old".
    public var configVersion: String
    public var instances: Int
    public var request: TaskRequest
    public var hasHealthChecks: Bool
    public var hasReadinessChecks: Bool
    public var minimumHealthCapacity: Double
    public var maximumOverCapacity: Double
    public var backoffSeconds: Double
    public var backoffFactor: Double
    public var maxLaunchDelaySeconds: Double
    public var killSelection: KillSelection
    public var unreachable: UnreachablePolicy?
    public var killGracePeriodSeconds: Double?
}

/// An app's launch back-off: each failure multiplies the delay, up to the maximum.
public struct Backoff: Codable, Hashable, Sendable {
    public var delaySeconds: Double = 0
    public var failures: Int = 0
    /// No launch before this moment.
    public var until: Date?

    /// Records a failure at `now`.
    public mutating func recordFailure(spec: RunSpec, now: Date) {
        failures += 1
        delaySeconds = failures == 1 ? spec.backoffSeconds
            : min(delaySeconds * spec.backoffFactor, spec.maxLaunchDelaySeconds)
        until = now.addingTimeInterval(delaySeconds)
    }

    public func isDelaying(at now: Date) -> Bool { until.map { now < $0 } ?? false }
}
