import Foundation

/// What a request path under `/api` or `/apis` names: a resource type, optionally a
/// namespace, an object name and a subresource.
struct ResourcePath: Equatable {
    let type: ResourceType
    let namespace: String?
    let name: String?
    let subresource: String?

    /// Parses `/api/v1/...` and `/apis/<group>/<version>/...`; nil when the path names no
    /// served resource. Discovery paths (`/api/v1` itself) are not resource paths.
    init?(path: String) {
        var segments = path.split(separator: "/").map(String.init)
        let group: String
        let version: String
        if segments.first == "api", segments.count >= 3 {
            group = ""
            version = segments[1]
            segments.removeFirst(2)
        } else if segments.first == "apis", segments.count >= 4 {
            group = segments[1]
            version = segments[2]
            segments.removeFirst(3)
        } else {
            return nil
        }
        // /namespaces/{ns}/{resource}[/{name}[/{sub}]]
        if segments.count >= 3, segments[0] == "namespaces",
           let type = ResourceType.find(group: group, version: version, resource: segments[2]), type.namespaced {
            guard segments.count <= 5 else { return nil }
            self.type = type
            namespace = segments[1]
            name = segments.count >= 4 ? segments[3] : nil
            subresource = segments.count == 5 ? segments[4] : nil
            return
        }
        guard let type = ResourceType.find(group: group, version: version, resource: segments[0]), segments.count <= 3 else {
            return nil
        }
        self.type = type
        namespace = nil
        name = segments.count >= 2 ? segments[1] : nil
        subresource = segments.count == 3 ? segments[2] : nil
    }
}

/// A request's query string, decoded the way Go clients encode it (`+` is a space).
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ query: String?) {
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let key = decode(parts[0])
            values[key] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(key: String) -> String? { values[key] }

    /// True for `watch=true` and `watch=1`.
    func flag(_ key: String) -> Bool { values[key] == "true" || values[key] == "1" }

    /// The label selector, if one was given.
    func labelSelector() throws(APIError) -> LabelSelector? {
        guard let text = values["labelSelector"], !text.isEmpty else { return nil }
        return try LabelSelector(parsing: text)
    }

    /// The field selector as path → required value (`metadata.name=web,spec.nodeName=n1`).
    func fieldSelector() throws(APIError) -> [String: String] {
        guard let text = values["fieldSelector"], !text.isEmpty else { return [:] }
        var fields: [String: String] = [:]
        for term in text.split(separator: ",") {
            if term.contains("!=") {
                throw .badRequest("field selector \"\(text)\": only equality (=, ==) is supported, not \"\(term)\"")
            }
            let normalized = term.replacingOccurrences(of: "==", with: "=")
            let parts = normalized.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw .badRequest("invalid field selector \"\(text)\": expected field=value at \"\(term)\"")
            }
            fields[parts[0].trimmingSpaces] = parts[1].trimmingSpaces
        }
        return fields
    }
}
