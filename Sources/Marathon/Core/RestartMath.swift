/// How a rolling restart moves at one moment, per Marathon's rules
/// (`minimumHealthCapacity`, `maximumOverCapacity`): pure arithmetic, no I/O.
///
/// Old instances run the previous configuration; new ones the target. Healthy means
/// running, passing health checks if the app has any, and ready if it has readiness
/// checks.
public struct RestartStep: Equatable, Sendable {
    /// How many old instances may be killed now.
    public var killOld: Int
    /// How many new instances may be launched now.
    public var launchNew: Int
    /// The target is reached: every instance is new and healthy.
    public var isComplete: Bool

    /// - Parameters:
    ///   - target: instances the app should run.
    ///   - oldActive: old instances not yet told to die.
    ///   - oldHealthy: those of `oldActive` that are healthy.
    ///   - newStarted: new instances launched and not ended.
    ///   - newHealthy: those of `newStarted` that are healthy.
    public static func next(target: Int, minimumHealthCapacity: Double, maximumOverCapacity: Double,
                            oldActive: Int, oldHealthy: Int, newStarted: Int, newHealthy: Int) -> RestartStep {
        let minHealthy = Int((Double(target) * minimumHealthCapacity).rounded(.up))
        var maxCapacity = Int((Double(target) * (1 + maximumOverCapacity)).rounded(.down))
        // With no room above the minimum, one extra instance lets the upgrade move at all.
        if minHealthy >= maxCapacity, target > 0 { maxCapacity = minHealthy + 1 }

        // Unhealthy old instances add nothing to capacity: always replaceable. Healthy
        // ones may go while enough healthy instances remain.
        let oldUnhealthy = oldActive - oldHealthy
        let healthyToSpare = max(0, oldHealthy + newHealthy - minHealthy)
        let killOld = oldUnhealthy + min(oldHealthy, healthyToSpare)

        let remainingOld = oldActive - killOld
        let launchNew = max(0, min(target - newStarted, maxCapacity - remainingOld - newStarted))
        let isComplete = oldActive == 0 && newHealthy >= target
        return RestartStep(killOld: killOld, launchNew: launchNew, isComplete: isComplete)
    }
}
