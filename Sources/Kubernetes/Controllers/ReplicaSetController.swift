import Foundation
import Logging

/// Keeps each ReplicaSet's pod count at `spec.replicas`: creates pods from its
/// template (`generateName: <rs>-`, owned by it), replaces pods that ended or were
/// deleted, deletes surplus pods (unscheduled first, then not ready, then the
/// newest), and writes the counts to its status.
public struct ReplicaSetController: StoreController {
    static let watchedTypes: [ResourceType] = [.replicaSets, .pods]
    let environment: ControllerEnvironment

    public init(store: ObjectStore, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        environment = ControllerEnvironment(store: store, logger: logger, now: now)
    }

    /// One pass over every ReplicaSet.
    public func reconcileAll() async {
        let pods = await store.list(.pods, namespace: nil).items
        var podsByOwner: [String: [JSONValue]] = [:]
        for pod in pods {
            if let owner = ObjectReferences.controllerUID(of: pod, kind: "ReplicaSet") { podsByOwner[owner, default: []].append(pod) }
        }
        for set in await store.list(.replicaSets, namespace: nil).items where !ObjectReferences.isDeleting(set) {
            await reconcile(set, pods: podsByOwner[ObjectReferences.uid(set)] ?? [])
        }
    }

    private func reconcile(_ set: JSONValue, pods: [JSONValue]) async {
        let namespace = set.namespace ?? "default"
        let desired = Int(set[path: ["spec", "replicas"]]?.intValue ?? 1)
        let minReady = TimeInterval(set[path: ["spec", "minReadySeconds"]]?.intValue ?? 0)
        let time = now()
        for pod in pods where ObjectReferences.isTerminal(pod: pod) && !ObjectReferences.isDeleting(pod) {
            await PodDeletion.request(store: store, namespace: namespace, name: pod.name, now: time)
        }
        let active = pods.filter { !ObjectReferences.isTerminal(pod: $0) && !ObjectReferences.isDeleting($0) }
        if active.count < desired {
            for _ in 0..<min(desired - active.count, 500) {
                do {
                    _ = try await store.create(.pods, namespace: namespace, object: Self.pod(from: set))
                } catch {
                    logger.warning("cannot create a pod", metadata: ["replicaset": "\(namespace)/\(set.name)", "error": "\(error)"])
                    break
                }
            }
        } else if active.count > desired {
            let victims = active.sorted { Self.deletionRank($0) < Self.deletionRank($1) }.prefix(active.count - desired)
            for pod in victims { await PodDeletion.request(store: store, namespace: namespace, name: pod.name, now: time) }
        }
        let ready = active.filter { ObjectReferences.readySince(pod: $0) != nil }
        let available = ready.filter { time.timeIntervalSince(ObjectReferences.readySince(pod: $0) ?? time) >= minReady }
        let selector = LabelSelector(matchLabels: set[path: ["spec", "selector"]])
        let status: JSONValue = [
            "replicas": .int(Int64(active.count)),
            "fullyLabeledReplicas": .int(Int64(active.filter { selector.matches($0.labels) }.count)),
            "readyReplicas": .int(Int64(ready.count)),
            "availableReplicas": .int(Int64(available.count)),
            "observedGeneration": set[path: ["metadata", "generation"]] ?? 1,
        ]
        guard set["status"] != status else { return }
        do {
            _ = try await store.modify(.replicaSets, namespace: namespace, name: set.name, status: true) { $0["status"] = status }
        } catch {
            logger.debug("cannot update a ReplicaSet's status", metadata: ["replicaset": "\(set.name)", "error": "\(error)"])
        }
    }

    /// A new pod of `set`'s template.
    static func pod(from set: JSONValue) -> JSONValue {
        let template = set[path: ["spec", "template"]] ?? [:]
        var metadata: JSONValue = [
            "generateName": .string(set.name + "-"), "namespace": .string(set.namespace ?? "default"),
            "ownerReferences": [ObjectReferences.controllerReference(to: set, type: .replicaSets)],
        ]
        if let labels = template[path: ["metadata", "labels"]] { metadata["labels"] = labels }
        if let annotations = template[path: ["metadata", "annotations"]] { metadata["annotations"] = annotations }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"] ?? [:]]
    }

    /// Lower goes first: unscheduled, then not ready, then the newest.
    private static func deletionRank(_ pod: JSONValue) -> (Int, Int, Double) {
        let scheduled = (pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty ? 0 : 1
        let ready = ObjectReferences.readySince(pod: pod) == nil ? 0 : 1
        return (scheduled, ready, -ObjectReferences.creationDate(pod).timeIntervalSince1970)
    }
}
