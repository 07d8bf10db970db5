import Foundation
import Yams

/// One app definition read from a manifest file, ready to send to the Marathon API.
struct AppDefinitionDocument: Sendable, Equatable {
    /// The app's absolute id (`/web`, `/group/worker`).
    let id: String
    /// The app as a JSON object, with `id` made absolute.
    let body: Data
}

/// Why a manifest file could not be turned into app definitions.
struct AppManifestError: Error, CustomStringConvertible, Equatable {
    let description: String
}

/// Reads app definitions from JSON or YAML text, with no I/O.
///
/// A file holds one app object, a list of app objects, or `{"apps": [...]}`; a YAML
/// file may also hold several documents separated by `---`. YAML is converted to the
/// same JSON a JSON file would give (timestamps and other non-JSON scalars stay strings).
enum AppManifest {
    /// Parses `text`, read from a file named `source` (its extension picks the format:
    /// `.json`, `.yaml`/`.yml`, otherwise JSON when the text starts with `{` or `[`).
    static func parse(_ text: String, source: String) throws(AppManifestError) -> [AppDefinitionDocument] {
        let documents = try topLevelDocuments(text, source: source)
        var items: [Any] = []
        for document in documents {
            if let list = document as? [Any] {
                items += list
            } else if let object = document as? [String: Any], object["id"] == nil, let apps = object["apps"] {
                guard let list = apps as? [Any] else {
                    throw AppManifestError(description: "\(source): \"apps\" must be a list of app objects")
                }
                items += list
            } else {
                items.append(document)
            }
        }
        guard !items.isEmpty else { throw AppManifestError(description: "\(source) contains no apps") }

        var seen: Set<String> = []
        var result: [AppDefinitionDocument] = []
        for (index, item) in items.enumerated() {
            let which = items.count == 1 ? source : "app #\(index + 1) in \(source)"
            guard var app = item as? [String: Any] else {
                throw AppManifestError(description: "\(which) is not an object: an app is a mapping of fields like {\"id\": \"/web\", \"cmd\": \"…\"}")
            }
            guard let rawID = app["id"] as? String, let id = normalizedAppID(rawID) else {
                throw AppManifestError(description: "\(which) needs an \"id\" string, e.g. \"/web\"")
            }
            guard seen.insert(id).inserted else {
                throw AppManifestError(description: "\(source) defines the app \(id) more than once")
            }
            app["id"] = id
            let body: Data
            do {
                body = try JSONSerialization.data(withJSONObject: app, options: [.sortedKeys, .withoutEscapingSlashes])
            } catch {
                throw AppManifestError(description: "\(which) cannot be written as JSON: \(error.localizedDescription)")
            }
            result.append(AppDefinitionDocument(id: id, body: body))
        }
        return result
    }

    /// `web` → `/web`, `/a//b/` → `/a/b`; nil when nothing is left.
    static func normalizedAppID(_ text: String) -> String? {
        let segments = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.isEmpty else { return nil }
        return "/" + segments.joined(separator: "/")
    }

    private enum Format { case json, yaml }

    private static func topLevelDocuments(_ text: String, source: String) throws(AppManifestError) -> [Any] {
        let lowered = source.lowercased()
        let format: Format
        if lowered.hasSuffix(".json") {
            format = .json
        } else if lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") {
            format = .yaml
        } else {
            let first = text.first(where: { !$0.isWhitespace })
            format = first == "{" || first == "[" ? .json : .yaml
        }
        switch format {
        case .json:
            do {
                return [try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])]
            } catch {
                throw AppManifestError(description: "\(source) is not valid JSON: \(jsonErrorText(error))")
            }
        case .yaml:
            // The document sequence keeps a parse error instead of throwing it.
            var nodes: [Node] = []
            var parseError: Error?
            do {
                var documents = try compose_all(yaml: text)
                while let node = documents.next() { nodes.append(node) }
                parseError = documents.error
            } catch {
                parseError = error
            }
            if let parseError {
                throw AppManifestError(description: "\(source) is not valid YAML: \(parseError)")
            }
            return try nodes.map { node throws(AppManifestError) in try jsonValue(of: node, path: "", source: source) }
        }
    }

    private static func jsonErrorText(_ error: Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }

    /// Converts a YAML node to the value JSONSerialization would produce for the same JSON.
    private static func jsonValue(of node: Node, path: String, source: String) throws(AppManifestError) -> Any {
        let here = path.isEmpty ? "/" : path
        switch node {
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue:
                return NSNull()
            case Tag.Name.bool.rawValue:
                if let value = node.bool { return value }
            case Tag.Name.int.rawValue:
                if let value = node.int { return value }
                if let value = node.float, value.isFinite { return value }
            case Tag.Name.float.rawValue:
                if let value = node.float {
                    guard value.isFinite else {
                        throw AppManifestError(description: "\(source): \(here) is \(scalar.string), which JSON cannot represent")
                    }
                    return value
                }
            default:
                break
            }
            return scalar.string
        case .sequence(let sequence):
            var list: [Any] = []
            for (index, element) in sequence.enumerated() {
                list.append(try jsonValue(of: element, path: "\(path)/\(index)", source: source))
            }
            return list
        case .mapping(let mapping):
            var object: [String: Any] = [:]
            var merged: [String: Any] = [:]
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    throw AppManifestError(description: "\(source): a key under \(here) is not a plain string")
                }
                let key = keyScalar.string
                if keyNode.tag.rawValue == Tag.Name.merge.rawValue {
                    for (mergedKey, mergedValue) in try mergeSources(valueNode, path: here, source: source) where merged[mergedKey] == nil {
                        merged[mergedKey] = mergedValue
                    }
                    continue
                }
                guard object[key] == nil else {
                    throw AppManifestError(description: "\(source): \(here) has the key \"\(key)\" twice")
                }
                object[key] = try jsonValue(of: valueNode, path: "\(path)/\(key)", source: source)
            }
            for (key, value) in merged where object[key] == nil { object[key] = value }
            return object
        case .alias:
            throw AppManifestError(description: "\(source): \(here) uses a YAML alias that could not be resolved")
        }
    }

    /// The mappings named by a YAML merge key (`<<: *defaults` or `<<: [*a, *b]`), earlier ones winning.
    private static func mergeSources(_ node: Node, path: String, source: String) throws(AppManifestError) -> [(String, Any)] {
        let candidates: [Node]
        if case .sequence(let sequence) = node { candidates = Array(sequence) } else { candidates = [node] }
        var pairs: [(String, Any)] = []
        for candidate in candidates {
            guard let object = try jsonValue(of: candidate, path: path, source: source) as? [String: Any] else {
                throw AppManifestError(description: "\(source): the merge key \"<<\" under \(path) must name a mapping")
            }
            pairs += object.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        return pairs
    }
}
