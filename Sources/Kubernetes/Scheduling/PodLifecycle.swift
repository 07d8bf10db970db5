import Foundation

/// What happens to a pod once its task group has ended, by `spec.restartPolicy`.
///
/// Mesos ends a whole task group when one task fails, so Agora restarts a pod's
/// containers together by launching the group again, with kubelet's back-off.
public enum PodLifecycle {
    public enum Decision: Hashable, Sendable {
        /// Launch the group again once `delay` has passed (CrashLoopBackOff meanwhile).
        case relaunch(delay: TimeInterval)
        /// The pod is done: `Succeeded` or `Failed`.
        case finished(phase: String)
    }

    /// The back-off before the first restart.
    public static let initialBackoff: TimeInterval = 10
    /// The longest back-off.
    public static let maximumBackoff: TimeInterval = 300
    /// A run this long counts as healthy: the back-off starts over after it.
    public static let backoffReset: TimeInterval = 600

    /// The decision for a run that has ended (`run.hasEnded`).
    ///
    /// Always relaunches; OnFailure relaunches unless every container finished with
    /// status 0; Never ends the pod, Succeeded when every container did.
    public static func decide(restartPolicy: String?, run: PodRun, now: Date) -> Decision {
        let policy = restartPolicy ?? "Always"
        if policy == "Never" || (policy == "OnFailure" && run.succeeded) {
            return .finished(phase: run.succeeded ? "Succeeded" : "Failed")
        }
        let ranFor = now.timeIntervalSince(run.launchedAt)
        return .relaunch(delay: backoff(restartCount: run.attempt, ranFor: ranFor))
    }

    /// 10 s doubling per restart, at most 5 minutes; 10 s again after a run of 10 minutes.
    public static func backoff(restartCount: Int, ranFor: TimeInterval) -> TimeInterval {
        guard ranFor < backoffReset else { return initialBackoff }
        let doublings = min(max(restartCount, 0), 16)
        return min(initialBackoff * pow(2, Double(doublings)), maximumBackoff)
    }
}
