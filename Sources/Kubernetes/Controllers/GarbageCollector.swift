import Foundation
import Logging

/// Background cascading deletion: a ReplicaSet whose controlling Deployment is gone is
/// deleted, and so is a pod whose controlling ReplicaSet is gone (pods that may still
/// run get a graceful deletion, see `PodDeletion`).
public struct GarbageCollector: StoreController {
    static let watchedTypes: [ResourceType] = [.deployments, .replicaSets]
    static let resync: Duration = .seconds(30)
    let environment: ControllerEnvironment

    public init(store: ObjectStore, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        environment = ControllerEnvironment(store: store, logger: logger, now: now)
    }

    /// The loop's pass: one `collect()`.
    func reconcileAll() async {
        await collect()
    }

    /// One pass. Dependents are listed before their owners, so an owner created after
    /// the dependent list was taken cannot make its new dependents look orphaned.
    public func collect() async {
        let pods = await store.list(.pods, namespace: nil).items
        let sets = await store.list(.replicaSets, namespace: nil).items
        let deployments = await store.list(.deployments, namespace: nil).items
        let deploymentUIDs = Set(deployments.map(ObjectReferences.uid))
        let setUIDs = Set(sets.map(ObjectReferences.uid))
        var orphanedSetUIDs: Set<String> = []
        for set in sets {
            guard let owner = ObjectReferences.controllerUID(of: set, kind: "Deployment"), !deploymentUIDs.contains(owner) else { continue }
            orphanedSetUIDs.insert(ObjectReferences.uid(set))
            do {
                _ = try await store.delete(.replicaSets, namespace: set.namespace, name: set.name)
                logger.info("deleted a ReplicaSet whose Deployment is gone", metadata: ["replicaset": "\(set.namespace ?? "")/\(set.name)"])
            } catch {
                // Deleted meanwhile.
            }
        }
        for pod in pods where !ObjectReferences.isDeleting(pod) {
            guard let owner = ObjectReferences.controllerUID(of: pod, kind: "ReplicaSet"),
                  !setUIDs.contains(owner) || orphanedSetUIDs.contains(owner)
            else { continue }
            await PodDeletion.request(store: store, namespace: pod.namespace ?? "default", name: pod.name, now: now())
        }
    }
}
