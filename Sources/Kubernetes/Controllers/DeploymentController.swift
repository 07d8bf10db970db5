import Foundation
import Logging

/// Rolls each Deployment out through ReplicaSets: the one for the current pod template
/// (`<deployment>-<pod-template-hash>`) is scaled up and the older ones down, as the
/// strategy allows (`RolloutPlanner`), and the Deployment's status is kept so that
/// `kubectl rollout status` can tell when it is done.
public struct DeploymentController: StoreController {
    static let hashLabel = "pod-template-hash"
    static let revisionAnnotation = "deployment.kubernetes.io/revision"
    static let desiredAnnotation = "deployment.kubernetes.io/desired-replicas"
    static let maxAnnotation = "deployment.kubernetes.io/max-replicas"

    static let watchedTypes: [ResourceType] = [.deployments, .replicaSets]
    let environment: ControllerEnvironment

    public init(store: ObjectStore, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        environment = ControllerEnvironment(store: store, logger: logger, now: now)
    }

    /// One pass over every Deployment.
    public func reconcileAll() async {
        let sets = await store.list(.replicaSets, namespace: nil).items
        for deployment in await store.list(.deployments, namespace: nil).items where !ObjectReferences.isDeleting(deployment) {
            let uid = ObjectReferences.uid(deployment)
            let owned = sets.filter { ObjectReferences.controllerUID(of: $0, kind: "Deployment") == uid }
            do {
                try await reconcile(deployment, owned: owned)
            } catch {
                logger.warning("cannot reconcile a deployment",
                               metadata: ["deployment": "\(deployment.namespace ?? "")/\(deployment.name)", "error": "\(error)"])
            }
        }
    }

    private func reconcile(_ deployment: JSONValue, owned: [JSONValue]) async throws {
        let replicas = Int(deployment[path: ["spec", "replicas"]]?.intValue ?? 1)
        let template = deployment[path: ["spec", "template"]] ?? [:]
        let collisionCount = deployment[path: ["status", "collisionCount"]]?.intValue
        let hash = PodTemplateHash.hash(template: template, collisionCount: collisionCount)
        let strategyType = deployment[path: ["spec", "strategy", "type"]]?.stringValue ?? "RollingUpdate"
        let rolling = deployment[path: ["spec", "strategy", "rollingUpdate"]]
        let limits = try RolloutPlanner.rollingLimits(maxSurge: rolling?["maxSurge"], maxUnavailable: rolling?["maxUnavailable"],
                                                      replicas: replicas)
        let strategy: RolloutPlanner.Strategy = strategyType == "Recreate"
            ? .recreate : .rollingUpdate(maxSurge: limits.maxSurge, maxUnavailable: limits.maxUnavailable)

        var newSet = owned.first { $0[path: ["metadata", "labels", Self.hashLabel]]?.stringValue == hash }
        let oldSets = owned.filter { $0.name != newSet?.name }
            .sorted { ObjectReferences.creationDate($0) < ObjectReferences.creationDate($1) }
        let maxOldRevision = oldSets.compactMap { ObjectReferences.annotation($0, Self.revisionAnnotation).flatMap(Int.init) }.max() ?? 0
        let paused = deployment[path: ["spec", "paused"]]?.boolValue ?? false
        let maxReplicas = replicas + (strategyType == "Recreate" ? 0 : limits.maxSurge)

        if !paused {
            let oldCounts = oldSets.map(Self.counts)
            let newCounts = newSet.map(Self.counts) ?? .init(name: "", desired: 0, current: 0, available: 0)
            let plan = RolloutPlanner.plan(replicas: replicas, strategy: strategy, new: newCounts, old: oldCounts)
            if let existing = newSet {
                let revision = ObjectReferences.annotation(existing, Self.revisionAnnotation).flatMap(Int.init) ?? 0
                newSet = try await scale(existing, to: plan.newReplicas, replicas: replicas, maxReplicas: maxReplicas,
                                         revision: revision > maxOldRevision ? nil : maxOldRevision + 1)
            } else {
                newSet = try await createSet(for: deployment, template: template, hash: hash, replicas: plan.newReplicas,
                                             revision: maxOldRevision + 1, maxReplicas: maxReplicas)
            }
            for set in oldSets {
                if let target = plan.oldReplicas[set.name] {
                    _ = try await scale(set, to: target, replicas: replicas, maxReplicas: maxReplicas, revision: nil)
                }
            }
        }
        try await writeStatus(deployment, newSet: newSet, all: [newSet].compactMap { $0 } + oldSets, replicas: replicas,
                              maxUnavailable: strategyType == "Recreate" ? replicas : limits.maxUnavailable)
    }

    private static func counts(_ set: JSONValue) -> RolloutPlanner.ReplicaSetCounts {
        RolloutPlanner.ReplicaSetCounts(
            name: set.name, desired: Int(set[path: ["spec", "replicas"]]?.intValue ?? 0),
            current: Int(set[path: ["status", "replicas"]]?.intValue ?? 0),
            available: Int(set[path: ["status", "availableReplicas"]]?.intValue ?? 0))
    }

    private func createSet(for deployment: JSONValue, template: JSONValue, hash: String, replicas: Int, revision: Int,
                           maxReplicas: Int) async throws -> JSONValue? {
        let namespace = deployment.namespace ?? "default"
        var podTemplate = template
        podTemplate[path: ["metadata", "labels", Self.hashLabel]] = .string(hash)
        var selector = deployment[path: ["spec", "selector"]] ?? [:]
        selector[path: ["matchLabels", Self.hashLabel]] = .string(hash)
        var labels = template[path: ["metadata", "labels"]] ?? [:]
        labels[Self.hashLabel] = .string(hash)
        let set: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": [
                "name": .string("\(deployment.name)-\(hash)"), "namespace": .string(namespace), "labels": labels,
                "annotations": [
                    Self.revisionAnnotation: .string(String(revision)),
                    Self.desiredAnnotation: .string(String(deployment[path: ["spec", "replicas"]]?.intValue ?? 1)),
                    Self.maxAnnotation: .string(String(maxReplicas)),
                ],
                "ownerReferences": [ObjectReferences.controllerReference(to: deployment, type: .deployments)],
            ],
            "spec": [
                "replicas": .int(Int64(replicas)), "selector": selector, "template": podTemplate,
                "minReadySeconds": deployment[path: ["spec", "minReadySeconds"]] ?? 0,
            ],
        ]
        let failure: APIError
        do {
            return try await store.create(.replicaSets, namespace: namespace, object: set)
        } catch {
            failure = error
        }
        guard failure.reason == "AlreadyExists" else { throw failure }
        // A ReplicaSet of that name that is not ours: hash again with a collision count.
        let count = (deployment[path: ["status", "collisionCount"]]?.intValue ?? 0) + 1
        _ = try await store.modify(.deployments, namespace: namespace, name: deployment.name, status: true) {
            $0[path: ["status", "collisionCount"]] = .int(count)
        }
        return nil
    }

    /// Sets `spec.replicas` and the deployment annotations; `revision`, when given, is the new revision.
    private func scale(_ set: JSONValue, to target: Int, replicas: Int, maxReplicas: Int,
                       revision: Int?) async throws -> JSONValue {
        let current = set[path: ["spec", "replicas"]]?.intValue ?? 0
        let annotations = set[path: ["metadata", "annotations"]]
        let wantedDesired = String(replicas), wantedMax = String(maxReplicas)
        guard current != Int64(target) || revision != nil
            || annotations?[Self.desiredAnnotation]?.stringValue != wantedDesired
            || annotations?[Self.maxAnnotation]?.stringValue != wantedMax else { return set }
        return try await store.modify(.replicaSets, namespace: set.namespace, name: set.name) { set in
            set[path: ["spec", "replicas"]] = .int(Int64(target))
            set[path: ["metadata", "annotations", Self.desiredAnnotation]] = .string(wantedDesired)
            set[path: ["metadata", "annotations", Self.maxAnnotation]] = .string(wantedMax)
            if let revision { set[path: ["metadata", "annotations", Self.revisionAnnotation]] = .string(String(revision)) }
        }
    }

    private func writeStatus(_ deployment: JSONValue, newSet: JSONValue?, all: [JSONValue], replicas: Int,
                             maxUnavailable: Int) async throws {
        func sum(_ field: String) -> Int64 { all.reduce(0) { $0 + ($1[path: ["status", field]]?.intValue ?? 0) } }
        let current = sum("replicas"), ready = sum("readyReplicas"), available = sum("availableReplicas")
        let updated = newSet?[path: ["status", "replicas"]]?.intValue ?? 0
        let newAvailable = newSet?[path: ["status", "availableReplicas"]]?.intValue ?? 0
        let newIsCurrent = newSet.map { ($0[path: ["status", "observedGeneration"]]?.intValue ?? 0)
            >= ($0[path: ["metadata", "generation"]]?.intValue ?? 1) } ?? false
        let complete = newIsCurrent && updated == Int64(replicas) && current == updated && newAvailable >= updated
            && newSet?[path: ["spec", "replicas"]]?.intValue == Int64(replicas)
        let time = StatusTime.json(now())
        let previous = deployment[path: ["status", "conditions"]]?.arrayValue ?? []
        func condition(_ type: String, _ value: Bool, _ reason: String, _ message: String) -> JSONValue {
            let old = previous.first { $0["type"]?.stringValue == type }
            let status = value ? "True" : "False"
            let unchanged = old?["status"]?.stringValue == status && old?["reason"]?.stringValue == reason
            return [
                "type": .string(type), "status": .string(status), "reason": .string(reason), "message": .string(message),
                "lastUpdateTime": unchanged ? old?["lastUpdateTime"] ?? time : time,
                "lastTransitionTime": old?["status"]?.stringValue == status ? old?["lastTransitionTime"] ?? time : time,
            ]
        }
        let setName = newSet?.name ?? "\(deployment.name)"
        let isAvailable = available >= Int64(replicas - maxUnavailable)
        var status: JSONValue = [
            "observedGeneration": deployment[path: ["metadata", "generation"]] ?? 1,
            "replicas": .int(current), "updatedReplicas": .int(updated), "readyReplicas": .int(ready),
            "availableReplicas": .int(available), "unavailableReplicas": .int(max(0, Int64(replicas) - available)),
            "conditions": [
                condition("Available", isAvailable, isAvailable ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                          isAvailable ? "Deployment has minimum availability." : "Deployment does not have minimum availability."),
                condition("Progressing", true, complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                          complete ? "ReplicaSet \"\(setName)\" has successfully progressed."
                                   : "ReplicaSet \"\(setName)\" is progressing."),
            ],
        ]
        if let collisions = deployment[path: ["status", "collisionCount"]] { status["collisionCount"] = collisions }
        let revision = newSet.flatMap { ObjectReferences.annotation($0, Self.revisionAnnotation) }
        if let revision, ObjectReferences.annotation(deployment, Self.revisionAnnotation) != revision {
            _ = try await store.modify(.deployments, namespace: deployment.namespace, name: deployment.name) {
                $0[path: ["metadata", "annotations", Self.revisionAnnotation]] = .string(revision)
            }
        }
        guard Self.withoutTimes(deployment["status"]) != Self.withoutTimes(status) else { return }
        let written = status
        _ = try await store.modify(.deployments, namespace: deployment.namespace, name: deployment.name, status: true) {
            $0["status"] = written
        }
    }

    /// The status with condition times removed, to tell a real change from a rewrite.
    private static func withoutTimes(_ status: JSONValue?) -> JSONValue? {
        guard var status else { return nil }
        status["conditions"] = status["conditions"]?.arrayValue.map { conditions in
            .array(conditions.map { condition in
                var condition = condition
                condition["lastUpdateTime"] = nil
                condition["lastTransitionTime"] = nil
                return condition
            })
        }
        return status
    }
}
