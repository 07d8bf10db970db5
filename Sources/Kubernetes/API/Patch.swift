import Foundation

/// The patch formats the API accepts, as pure functions from (object, patch) to the
/// patched object. Which one applies is chosen by the request's Content-Type.
public enum Patch {
    /// A JSON merge patch (RFC 7386): objects merge member by member, `null` deletes a
    /// member, anything else (arrays included) replaces.
    public static func merge(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var members = target.objectValue ?? [:]
        for (key, value) in patchMembers {
            if value == .null {
                members[key] = nil
            } else {
                members[key] = merge(members[key] ?? .null, value)
            }
        }
        return .object(members)
    }

    // MARK: - JSON patch

    /// A JSON patch (RFC 6902): a list of add, remove, replace, move, copy and test operations.
    /// - Throws: 422 naming the operation that cannot be applied; 400 when the patch is malformed.
    public static func json(_ target: JSONValue, _ operations: JSONValue) throws(APIError) -> JSONValue {
        guard let list = operations.arrayValue else { throw .badRequest("a JSON patch must be an array of operations") }
        var document = target
        for (index, operation) in list.enumerated() {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw .badRequest("JSON patch operation \(index) needs \"op\" and \"path\"")
            }
            func failed(_ why: String) -> APIError {
                APIError(code: 422, reason: "Invalid", message: "the JSON patch operation \(index) (\(op) \(path)) failed: \(why)")
            }
            let tokens = try pointer(path)
            func requiredValue() throws(APIError) -> JSONValue {
                guard let value = operation["value"] else { throw .badRequest("JSON patch operation \(index) (\(op)) needs \"value\"") }
                return value
            }
            func fromTokens() throws(APIError) -> [String] {
                guard let from = operation["from"]?.stringValue else { throw .badRequest("JSON patch operation \(index) (\(op)) needs \"from\"") }
                return try pointer(from)
            }
            switch op {
            case "add":
                document = try add(document, tokens[...], try requiredValue(), failed)
            case "remove":
                document = try remove(document, tokens[...], failed)
            case "replace":
                _ = try value(document, tokens[...], failed)
                document = try add(try remove(document, tokens[...], failed), tokens[...], try requiredValue(), failed)
            case "move":
                let from = try fromTokens()
                let moved = try value(document, from[...], failed)
                document = try add(try remove(document, from[...], failed), tokens[...], moved, failed)
            case "copy":
                document = try add(document, tokens[...], try value(document, try fromTokens()[...], failed), failed)
            case "test":
                guard try value(document, tokens[...], failed) == (try requiredValue()) else { throw failed("the value differs") }
            default:
                throw .badRequest("JSON patch operation \(index) has an unknown op \"\(op)\"")
            }
        }
        return document
    }

    private static func pointer(_ path: String) throws(APIError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw .badRequest("JSON pointer \"\(path)\" must start with \"/\"") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func value(_ document: JSONValue, _ tokens: ArraySlice<String>,
                              _ failed: (String) -> APIError) throws(APIError) -> JSONValue {
        guard let token = tokens.first else { return document }
        switch document {
        case .object(let members):
            guard let child = members[token] else { throw failed("no member \"\(token)\"") }
            return try value(child, tokens.dropFirst(), failed)
        case .array(let items):
            guard let index = Int(token), items.indices.contains(index) else { throw failed("no array index \"\(token)\"") }
            return try value(items[index], tokens.dropFirst(), failed)
        default:
            throw failed("\"\(token)\" is inside a value that is neither an object nor an array")
        }
    }

    private static func add(_ document: JSONValue, _ tokens: ArraySlice<String>, _ newValue: JSONValue,
                            _ failed: (String) -> APIError) throws(APIError) -> JSONValue {
        guard let token = tokens.first else { return newValue }
        let rest = tokens.dropFirst()
        switch document {
        case .object(var members):
            if rest.isEmpty {
                members[token] = newValue
            } else {
                guard let child = members[token] else { throw failed("no member \"\(token)\"") }
                members[token] = try add(child, rest, newValue, failed)
            }
            return .object(members)
        case .array(var items):
            if rest.isEmpty {
                let index = token == "-" ? items.count : Int(token) ?? -1
                guard (0...items.count).contains(index) else { throw failed("array index \"\(token)\" is out of bounds") }
                items.insert(newValue, at: index)
            } else {
                guard let index = Int(token), items.indices.contains(index) else { throw failed("no array index \"\(token)\"") }
                items[index] = try add(items[index], rest, newValue, failed)
            }
            return .array(items)
        default:
            throw failed("\"\(token)\" is inside a value that is neither an object nor an array")
        }
    }

    private static func remove(_ document: JSONValue, _ tokens: ArraySlice<String>,
                               _ failed: (String) -> APIError) throws(APIError) -> JSONValue {
        guard let token = tokens.first else { throw failed("cannot remove the whole document") }
        let rest = tokens.dropFirst()
        switch document {
        case .object(var members):
            guard let child = members[token] else { throw failed("no member \"\(token)\"") }
            if rest.isEmpty {
                members.removeValue(forKey: token)
            } else {
                members[token] = try remove(child, rest, failed)
            }
            return .object(members)
        case .array(var items):
            guard let index = Int(token), items.indices.contains(index) else { throw failed("no array index \"\(token)\"") }
            if rest.isEmpty { items.remove(at: index) } else { items[index] = try remove(items[index], rest, failed) }
            return .array(items)
        default:
            throw failed("\"\(token)\" is inside a value that is neither an object nor an array")
        }
    }

    // MARK: - Strategic merge patch

    /// The merge key of each list that strategic merge patches merge item by item (as the
    /// Kubernetes core and apps types declare them); other lists of objects are replaced.
    public static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
        "volumes": "name", "imagePullSecrets": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
        "ports": "containerPort", "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
        "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
    ]
    /// Lists of scalars that strategic merge patches merge as sets instead of replacing.
    public static let mergedPrimitiveLists: Set<String> = ["finalizers"]

    /// A strategic merge patch, as `kubectl apply` and the Python client send: like a
    /// merge patch, but lists in `mergeKeys` merge by key, and the directives
    /// `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>` and
    /// `$deleteFromPrimitiveList/<list>` are honoured.
    /// - Throws: BadRequest for a malformed directive.
    public static func strategicMerge(_ target: JSONValue, _ patch: JSONValue) throws(APIError) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        return try strategicMergeObject(target.objectValue ?? [:], patchMembers) ?? .object([:])
    }

    /// The merged object, or nil when the patch says `$patch: delete`.
    private static func strategicMergeObject(_ original: [String: JSONValue],
                                             _ patch: [String: JSONValue]) throws(APIError) -> JSONValue? {
        switch patch["$patch"]?.stringValue {
        case "delete": return nil
        case "replace": return stripDirectives(.object(patch.filter { $0.key != "$patch" }))
        case nil, "merge": break
        case let other?: throw .badRequest("unknown strategic merge patch directive $patch: \(other)")
        }
        var result = original
        for (key, value) in patch where !key.hasPrefix("$") {
            if value == .null {
                result[key] = nil
            } else if case .object(let members) = value {
                result[key] = try strategicMergeObject(result[key]?.objectValue ?? [:], members)
            } else if case .array(let items) = value {
                result[key] = try strategicMergeList(key: key, original: result[key]?.arrayValue, patch: items)
            } else {
                result[key] = value
            }
        }
        for (key, value) in patch where key.hasPrefix("$deleteFromPrimitiveList/") {
            let list = String(key.dropFirst("$deleteFromPrimitiveList/".count))
            let removed = value.arrayValue ?? []
            if let items = result[list]?.arrayValue {
                result[list] = .array(items.filter { !removed.contains($0) })
            }
        }
        for (key, value) in patch where key.hasPrefix("$setElementOrder/") {
            let list = String(key.dropFirst("$setElementOrder/".count))
            guard let items = result[list]?.arrayValue, let order = value.arrayValue else { continue }
            result[list] = .array(reorder(items, by: order, mergeKey: mergeKeys[list]))
        }
        if let retained = patch["$retainKeys"] {
            guard let keys = retained.arrayValue?.compactMap(\.stringValue) else {
                throw .badRequest("$retainKeys must be a list of strings")
            }
            let keep = Set(keys)
            result = result.filter { keep.contains($0.key) }
        }
        return .object(result)
    }

    private static func strategicMergeList(key: String, original: [JSONValue]?,
                                           patch: [JSONValue]) throws(APIError) -> JSONValue {
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return stripDirectives(.array(patch.filter { $0["$patch"]?.stringValue != "replace" }))
        }
        if mergedPrimitiveLists.contains(key) {
            var items = original ?? []
            for item in patch where !items.contains(item) { items.append(item) }
            return .array(items)
        }
        guard let mergeKey = mergeKeys[key], patch.allSatisfy({ $0.objectValue != nil }) else {
            return stripDirectives(.array(patch))
        }
        var items = original ?? []
        for item in patch {
            guard case .object(let members) = item else { continue }
            guard let keyValue = members[mergeKey] else {
                throw .badRequest("an item of the list \"\(key)\" lacks its merge key \"\(mergeKey)\"")
            }
            let index = items.firstIndex { $0[mergeKey] == keyValue }
            if members["$patch"]?.stringValue == "delete" {
                items.removeAll { $0[mergeKey] == keyValue }
                continue
            }
            if let index {
                if let merged = try strategicMergeObject(items[index].objectValue ?? [:], members) {
                    items[index] = merged
                } else {
                    items.remove(at: index)
                }
            } else if let added = try strategicMergeObject([:], members) {
                items.append(added)
            }
        }
        return .array(items)
    }

    /// Puts the items named in `order` first, in that order, followed by the rest as they were.
    private static func reorder(_ items: [JSONValue], by order: [JSONValue], mergeKey: String?) -> [JSONValue] {
        func identity(_ item: JSONValue) -> JSONValue { mergeKey.flatMap { item[$0] } ?? item }
        var remaining = items
        var ordered: [JSONValue] = []
        for wanted in order {
            let wantedIdentity = identity(wanted)
            if let index = remaining.firstIndex(where: { identity($0) == wantedIdentity }) {
                ordered.append(remaining.remove(at: index))
            }
        }
        return ordered + remaining
    }

    /// The value without `$`-directives (for parts of a patch that are taken as they are).
    private static func stripDirectives(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(members.filter { !$0.key.hasPrefix("$") }.mapValues(stripDirectives))
        case .array(let items):
            return .array(items.map(stripDirectives))
        default:
            return value
        }
    }
}
