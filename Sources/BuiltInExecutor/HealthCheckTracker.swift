/// When a task's health is checked and how many failures it may have, from
/// `HealthCheck` (see ``HealthCheckSpec``).
struct HealthCheckPolicy: Sendable, Equatable {
    /// From the task's start to the first check.
    var delay: Duration
    /// From the end of one check to the start of the next.
    var interval: Duration
    /// How long one check may take before it counts as failed.
    var timeout: Duration
    /// Failures in a row that get the task killed; 0 never kills.
    var consecutiveFailures: Int
    /// From the task's start: failures before the first success are ignored for this long.
    var gracePeriod: Duration
}

/// The result of one health check.
enum HealthCheckOutcome: Sendable, Equatable {
    case healthy
    /// Failed, with what went wrong ("HTTP GET /health returned 500").
    case unhealthy(String)
}

/// One task's health as Mesos judges it, with no I/O: checks start `delay` after the
/// task, run `interval` apart; failures inside the grace period before the first
/// success do not count; the task's health is reported on the first counted result
/// and whenever it flips; `consecutiveFailures` failures in a row kill the task.
///
/// Times are durations on one monotonic clock chosen by the caller. Feed each check's
/// result to ``checkCompleted(_:now:)`` and carry out the directives in order.
struct HealthCheckTracker: Sendable {
    enum Directive: Sendable, Equatable {
        /// Start the next check at this time.
        case runCheck(at: Duration)
        /// Tell the framework the task's health changed (a TASK_RUNNING update).
        case reportHealth(healthy: Bool, message: String)
        /// Kill the task with its kill policy; `message` says why, for its terminal update.
        case killTask(message: String)
    }

    let policy: HealthCheckPolicy
    let taskStartedAt: Duration
    /// The last reported health; nil until the first counted result.
    private(set) var healthy: Bool?
    private(set) var failuresInARow = 0
    /// Whether a check has ever passed (which ends the grace period early).
    private(set) var hasPassed = false
    /// Set once the tracker asked for the kill; it ignores results afterwards.
    private(set) var killed = false

    init(policy: HealthCheckPolicy, taskStartedAt: Duration) {
        self.policy = policy
        self.taskStartedAt = taskStartedAt
    }

    /// When the first check runs.
    var firstCheck: Directive { .runCheck(at: taskStartedAt + policy.delay) }

    /// A check ended at `now` with `outcome`.
    mutating func checkCompleted(_ outcome: HealthCheckOutcome, now: Duration) -> [Directive] {
        guard !killed else { return [] }
        var directives: [Directive] = []
        switch outcome {
        case .healthy:
            hasPassed = true
            failuresInARow = 0
            if healthy != true {
                directives.append(.reportHealth(healthy: true, message: "the health check passed"))
            }
            healthy = true
        case .unhealthy(let reason):
            let inGracePeriod = !hasPassed && now - taskStartedAt < policy.gracePeriod
            if !inGracePeriod {
                failuresInARow += 1
                if healthy != false {
                    directives.append(.reportHealth(healthy: false, message: "the health check failed: \(reason)"))
                }
                healthy = false
                if policy.consecutiveFailures > 0, failuresInARow >= policy.consecutiveFailures {
                    killed = true
                    let times = failuresInARow == 1 ? "once" : "\(failuresInARow) times in a row"
                    directives.append(.killTask(message: "the health check failed \(times): \(reason)"))
                }
            }
        }
        if !killed { directives.append(.runCheck(at: now + policy.interval)) }
        return directives
    }
}
