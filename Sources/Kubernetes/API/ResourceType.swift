/// A kind of object the API serves: where it lives in the URL space and what it is called.
public struct ResourceType: Hashable, Sendable {
    /// The API group, "" for the core group.
    public let group: String
    /// The group version, "v1".
    public let version: String
    /// The plural resource name used in URLs, "pods".
    public let resource: String
    /// The object kind, "Pod".
    public let kind: String
    /// Whether objects live inside a namespace.
    public let namespaced: Bool
    /// Short names kubectl accepts ("po", "deploy").
    public let shortNames: [String]
    /// The singular name ("pod").
    public var singular: String { kind.lowercased() }

    public init(group: String, version: String, resource: String, kind: String, namespaced: Bool, shortNames: [String]) {
        self.group = group
        self.version = version
        self.resource = resource
        self.kind = kind
        self.namespaced = namespaced
        self.shortNames = shortNames
    }

    public static let namespaces = ResourceType(group: "", version: "v1", resource: "namespaces", kind: "Namespace",
                                                namespaced: false, shortNames: ["ns"])
    public static let pods = ResourceType(group: "", version: "v1", resource: "pods", kind: "Pod",
                                          namespaced: true, shortNames: ["po"])
    public static let nodes = ResourceType(group: "", version: "v1", resource: "nodes", kind: "Node",
                                           namespaced: false, shortNames: ["no"])
    public static let events = ResourceType(group: "", version: "v1", resource: "events", kind: "Event",
                                            namespaced: true, shortNames: ["ev"])
    public static let deployments = ResourceType(group: "apps", version: "v1", resource: "deployments", kind: "Deployment",
                                                 namespaced: true, shortNames: ["deploy"])
    public static let replicaSets = ResourceType(group: "apps", version: "v1", resource: "replicasets", kind: "ReplicaSet",
                                                 namespaced: true, shortNames: ["rs"])

    /// Every type the store keeps.
    public static let all: [ResourceType] = [.namespaces, .pods, .nodes, .events, .deployments, .replicaSets]

    /// "v1" for the core group, else "group/version" ("apps/v1").
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// A stable identifier for storage: "pods", "deployments.apps".
    public var storageKey: String { group.isEmpty ? resource : "\(resource).\(group)" }

    /// The type served at `group`/`version` under `resource`, if any.
    public static func find(group: String, version: String, resource: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.resource == resource }
    }
}
