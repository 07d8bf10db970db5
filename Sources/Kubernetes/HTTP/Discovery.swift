/// The discovery documents kubectl reads before anything else: server version, API
/// versions and groups, and each group-version's resources with verbs, short names and
/// subresources. Always the legacy (non-aggregated) JSON shapes.
enum Discovery {
    /// The Kubernetes version the adapter reports (its API follows this minor's shapes).
    static let version: JSONValue = [
        "major": "1", "minor": "28", "gitVersion": "v1.28.0-agora", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z", "goVersion": "swift6", "compiler": "swift", "platform": "linux/amd64",
    ]

    static func apiVersions(serverAddress: String) -> JSONValue {
        [
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]],
        ]
    }

    /// The non-core groups and their versions.
    static let groups: [(name: String, version: String)] = [("apps", "v1"), ("autoscaling", "v1")]

    static func group(_ name: String) -> JSONValue? {
        guard let entry = groups.first(where: { $0.name == name }) else { return nil }
        let groupVersion: JSONValue = ["groupVersion": .string("\(entry.name)/\(entry.version)"), "version": .string(entry.version)]
        return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(entry.name), "versions": [groupVersion],
                "preferredVersion": groupVersion]
    }

    static let groupList: JSONValue = [
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": .array(groups.compactMap { group($0.name) }.map { group in
            var listed = group
            listed["kind"] = nil
            listed["apiVersion"] = nil
            return listed
        }),
    ]

    /// The `APIResourceList` for `groupVersion` ("v1", "apps/v1", "autoscaling/v1"), or nil.
    static func resources(groupVersion: String) -> JSONValue? {
        let mainVerbs: JSONValue = ["create", "delete", "get", "list", "patch", "update", "watch"]
        let subresourceVerbs: JSONValue = ["get", "patch", "update"]
        func resource(_ type: ResourceType) -> JSONValue {
            ["name": .string(type.resource), "singularName": .string(type.singular), "namespaced": .bool(type.namespaced),
             "kind": .string(type.kind), "verbs": mainVerbs, "shortNames": .array(type.shortNames.map(JSONValue.string))]
        }
        func subresource(_ type: ResourceType, _ name: String, kind: String? = nil, group: String? = nil,
                         version: String? = nil, verbs: JSONValue = subresourceVerbs) -> JSONValue {
            var entry: JSONValue = ["name": .string("\(type.resource)/\(name)"), "singularName": "",
                                    "namespaced": .bool(type.namespaced), "kind": .string(kind ?? type.kind), "verbs": verbs]
            if let group { entry["group"] = .string(group) }
            if let version { entry["version"] = .string(version) }
            return entry
        }
        let entries: [JSONValue]
        switch groupVersion {
        case "v1":
            entries = [
                resource(.namespaces), subresource(.namespaces, "status"),
                resource(.nodes), subresource(.nodes, "status"),
                resource(.pods), subresource(.pods, "log", kind: "Pod", verbs: ["get"]), subresource(.pods, "status"),
                resource(.events),
            ]
        case "apps/v1":
            entries = [
                resource(.deployments),
                subresource(.deployments, "scale", kind: "Scale", group: "autoscaling", version: "v1"),
                subresource(.deployments, "status"),
                resource(.replicaSets),
                subresource(.replicaSets, "scale", kind: "Scale", group: "autoscaling", version: "v1"),
                subresource(.replicaSets, "status"),
            ]
        case "autoscaling/v1":
            entries = []
        default:
            return nil
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(entries)]
    }
}
