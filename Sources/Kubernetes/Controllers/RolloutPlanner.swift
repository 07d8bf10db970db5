/// How a Deployment's ReplicaSets should be scaled next, given their counts: the
/// deployment controller's arithmetic, kept pure so that it is tested on its own.
public enum RolloutPlanner {
    /// One ReplicaSet as the planner sees it.
    public struct ReplicaSetCounts: Hashable, Sendable {
        public var name: String
        /// `spec.replicas`.
        public var desired: Int
        /// Pods that exist and have not ended (`status.replicas`).
        public var current: Int
        /// Pods that are available (`status.availableReplicas`).
        public var available: Int

        public init(name: String, desired: Int, current: Int, available: Int) {
            self.name = name
            self.desired = desired
            self.current = current
            self.available = available
        }
    }

    public enum Strategy: Hashable, Sendable {
        /// Replace pods gradually: at most `maxSurge` pods above the desired count, at
        /// most `maxUnavailable` below it, both already resolved to pod counts.
        case rollingUpdate(maxSurge: Int, maxUnavailable: Int)
        /// Scale every old ReplicaSet to 0 and wait for their pods to end, then scale up the new one.
        case recreate
    }

    /// The new `spec.replicas` of the new ReplicaSet and of each old one (oldest first,
    /// in the order given).
    public struct Plan: Hashable, Sendable {
        public var newReplicas: Int
        public var oldReplicas: [String: Int]
    }

    /// The next step towards `replicas` pods of the new template.
    public static func plan(replicas: Int, strategy: Strategy, new: ReplicaSetCounts,
                            old: [ReplicaSetCounts]) -> Plan {
        var oldReplicas = Dictionary(uniqueKeysWithValues: old.map { ($0.name, $0.desired) })
        switch strategy {
        case .recreate:
            if old.contains(where: { $0.desired > 0 }) {
                for set in old { oldReplicas[set.name] = 0 }
                return Plan(newReplicas: new.desired, oldReplicas: oldReplicas)
            }
            let oldPodsRunning = old.contains { $0.current > 0 }
            return Plan(newReplicas: oldPodsRunning ? new.desired : replicas, oldReplicas: oldReplicas)

        case .rollingUpdate(let maxSurge, let maxUnavailable):
            // Scale up the new set within the surge.
            var newReplicas = new.desired
            if newReplicas > replicas {
                newReplicas = replicas
            } else if newReplicas < replicas {
                let total = new.desired + old.reduce(0) { $0 + $1.desired }
                let room = replicas + maxSurge - total
                if room > 0 { newReplicas += min(room, replicas - newReplicas) }
            }
            // Scale down old sets while enough pods stay available.
            let oldTotal = old.reduce(0) { $0 + $1.desired }
            guard oldTotal > 0 else { return Plan(newReplicas: newReplicas, oldReplicas: oldReplicas) }
            let minAvailable = replicas - maxUnavailable
            let allPods = new.desired + oldTotal
            let newUnavailable = max(0, new.desired - new.available)
            var budget = allPods - minAvailable - newUnavailable
            guard budget > 0 else { return Plan(newReplicas: newReplicas, oldReplicas: oldReplicas) }
            // First drop old pods that are not available anyway.
            for set in old where budget > 0 {
                let unhealthy = max(0, (oldReplicas[set.name] ?? 0) - set.available)
                let cut = min(budget, unhealthy)
                oldReplicas[set.name, default: 0] -= cut
                budget -= cut
            }
            // Then available ones, as far as availability allows.
            let available = new.available + old.reduce(0) { $0 + min($1.available, oldReplicas[$1.name] ?? 0) }
            var spare = available - minAvailable
            for set in old where spare > 0 {
                let cut = min(spare, oldReplicas[set.name] ?? 0)
                oldReplicas[set.name, default: 0] -= cut
                spare -= cut
            }
            return Plan(newReplicas: newReplicas, oldReplicas: oldReplicas)
        }
    }

    /// Resolves `maxSurge` / `maxUnavailable` (an integer or a percentage such as
    /// `"25%"`) against `replicas`: surge rounds up, unavailability down, and they are
    /// never both 0 (then unavailability becomes 1), as Kubernetes does.
    public static func rollingLimits(maxSurge: JSONValue?, maxUnavailable: JSONValue?,
                                     replicas: Int) throws(RolloutError) -> (maxSurge: Int, maxUnavailable: Int) {
        let surge = try resolve(maxSurge ?? .string("25%"), replicas: replicas, roundUp: true, field: "maxSurge")
        var unavailable = try resolve(maxUnavailable ?? .string("25%"), replicas: replicas, roundUp: false,
                                      field: "maxUnavailable")
        if surge == 0, unavailable == 0 { unavailable = 1 }
        return (surge, unavailable)
    }

    private static func resolve(_ value: JSONValue, replicas: Int, roundUp: Bool, field: String) throws(RolloutError) -> Int {
        if let number = value.intValue, number >= 0 { return Int(number) }
        if let text = value.stringValue, text.hasSuffix("%"), let percent = Int(text.dropLast()), percent >= 0 {
            let exact = Double(replicas * percent) / 100
            return Int(roundUp ? exact.rounded(.up) : exact.rounded(.down))
        }
        if let text = value.stringValue, let number = Int(text), number >= 0 { return number }
        throw RolloutError("spec.strategy.rollingUpdate.\(field) must be a whole number or a percentage like \"25%\", got \(value.encodedString)")
    }
}

/// A Deployment whose strategy cannot be followed; the message names the field.
public struct RolloutError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
