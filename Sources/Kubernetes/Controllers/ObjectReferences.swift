import Foundation

/// Owner references and the other bits of metadata controllers read and write.
enum ObjectReferences {
    /// An owner reference to `owner` of `type`, as the controlling owner.
    static func controllerReference(to owner: JSONValue, type: ResourceType) -> JSONValue {
        [
            "apiVersion": .string(type.apiVersion), "kind": .string(type.kind), "name": .string(owner.name),
            "uid": owner[path: ["metadata", "uid"]] ?? "", "controller": true, "blockOwnerDeletion": true,
        ]
    }

    /// The UID of the object's controlling owner of `kind`, if it has one.
    static func controllerUID(of object: JSONValue, kind: String) -> String? {
        let references = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
        return references.first { $0["controller"]?.boolValue == true && $0["kind"]?.stringValue == kind }?["uid"]?.stringValue
    }

    static func uid(_ object: JSONValue) -> String {
        object[path: ["metadata", "uid"]]?.stringValue ?? ""
    }

    static func creationDate(_ object: JSONValue) -> Date {
        StatusTime.date(object[path: ["metadata", "creationTimestamp"]]?.stringValue) ?? .distantPast
    }

    static func isDeleting(_ object: JSONValue) -> Bool {
        object[path: ["metadata", "deletionTimestamp"]] != nil
    }

    static func annotation(_ object: JSONValue, _ key: String) -> String? {
        object[path: ["metadata", "annotations", key]]?.stringValue
    }

    /// Whether the pod has ended for good.
    static func isTerminal(pod: JSONValue) -> Bool {
        let phase = pod[path: ["status", "phase"]]?.stringValue
        return phase == "Succeeded" || phase == "Failed"
    }

    /// Whether the pod's Ready condition is True, and since when.
    static func readySince(pod: JSONValue) -> Date? {
        let conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
        guard let ready = conditions.first(where: { $0["type"]?.stringValue == "Ready" }),
              ready["status"]?.stringValue == "True" else { return nil }
        return StatusTime.date(ready["lastTransitionTime"]?.stringValue) ?? .distantPast
    }
}

/// Deleting pods the way the API does: a pod that may still run on a node gets a
/// `deletionTimestamp` (the scheduler kills its tasks and then deletes it); any other
/// pod is deleted at once.
enum PodDeletion {
    /// Deletes the pod at once (not on a node, ended, or no grace) or marks it for its
    /// scheduler to kill (once); returns it as stored or, if deleted, as it was.
    /// `deletionTimestamp` is when the grace period ends, as the API server writes it.
    ///
    /// - Parameter grace: seconds given by the caller; the pod's own
    ///   `terminationGracePeriodSeconds` (default 30) when nil. 0 deletes at once.
    static func delete(store: ObjectStore, namespace: String?, name: String, grace: Int64?, now: Date) async throws -> JSONValue {
        let pod = try await store.get(.pods, namespace: namespace, name: name)
        let assigned = !(pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty
        let grace = grace ?? pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
        guard assigned, !ObjectReferences.isTerminal(pod: pod), grace > 0 else {
            return try await store.delete(.pods, namespace: namespace, name: name)
        }
        if ObjectReferences.isDeleting(pod) { return pod }
        let deadline = ObjectStore.timestamp(now.addingTimeInterval(TimeInterval(grace)))
        return try await store.modify(.pods, namespace: namespace, name: name) { pod in
            pod[path: ["metadata", "deletionTimestamp"]] = .string(deadline)
            pod[path: ["metadata", "deletionGracePeriodSeconds"]] = .int(grace)
        }
    }

    /// `delete` for the controllers: a pod already gone needs nothing.
    static func request(store: ObjectStore, namespace: String, name: String, now: Date) async {
        _ = try? await delete(store: store, namespace: namespace, name: name, grace: nil, now: now)
    }
}
