import Foundation
import Logging

/// Records core/v1 Events about objects, so that `kubectl describe` explains what
/// happened. The same reason and message about the same object within ten minutes
/// raise the count of the existing event instead of adding one, as Kubernetes does.
public actor EventRecorder {
    public enum Kind: String, Sendable { case normal = "Normal", warning = "Warning" }

    private let store: ObjectStore
    private let component: String
    private let now: @Sendable () -> Date
    private let logger: Logger
    private var recent: [String: (namespace: String, name: String, at: Date)] = [:]
    private static let aggregationWindow: TimeInterval = 600

    public init(store: ObjectStore, component: String = "agora-kube", logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.component = component
        self.logger = logger
        self.now = now
    }

    /// Records `reason`/`message` about `object` of `type`. Failures are logged, never thrown:
    /// an event that cannot be stored must not stop the work it describes.
    public func record(_ kind: Kind, reason: String, message: String, about object: JSONValue, type: ResourceType,
                       host: String? = nil) async {
        let time = now()
        let uid = ObjectReferences.uid(object)
        let namespace = object.namespace ?? "default"
        let key = [uid, reason, message].joined(separator: "\u{0}")
        let stamp = StatusTime.json(time)
        if let previous = recent[key], time.timeIntervalSince(previous.at) < Self.aggregationWindow {
            do {
                _ = try await store.modify(.events, namespace: previous.namespace, name: previous.name) { event in
                    event["count"] = .int((event["count"]?.intValue ?? 1) + 1)
                    event["lastTimestamp"] = stamp
                }
                recent[key]?.at = time
                return
            } catch {
                recent[key] = nil  // deleted meanwhile: record a new one
            }
        }
        var involved: JSONValue = [
            "apiVersion": .string(type.apiVersion), "kind": .string(type.kind), "name": .string(object.name), "uid": .string(uid),
        ]
        if type.namespaced { involved["namespace"] = .string(namespace) }
        if let version = object.resourceVersion { involved["resourceVersion"] = .string(version) }
        var source: JSONValue = ["component": .string(component)]
        if let host { source["host"] = .string(host) }
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let event: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string("\(object.name).\(suffix)"), "namespace": .string(namespace)],
            "involvedObject": involved, "reason": .string(reason), "message": .string(message), "type": .string(kind.rawValue),
            "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp, "eventTime": nil, "source": source,
            "reportingComponent": .string(component), "reportingInstance": .string(host ?? component),
        ]
        do {
            let stored = try await store.create(.events, namespace: namespace, object: event)
            recent[key] = (namespace, stored.name, time)
            recent = recent.filter { time.timeIntervalSince($0.value.at) < Self.aggregationWindow }
        } catch {
            logger.warning("cannot record an event", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }
}
