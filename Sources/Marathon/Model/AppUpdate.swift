import Foundation

/// The body of PUT/PATCH `/v2/apps/{id}` (and one element of PUT `/v2/apps`): fields
/// to set on an app, each replacing the current value entirely.
///
/// Construction checks the types of the given fields (422 with paths); `AppDefinition.applying(_:)`
/// merges them onto the current definition and validates the result. `{"version": ts}`
/// alone is a rollback (`isRollback`), which the caller answers with the stored version.
public struct AppUpdate: Sendable, Hashable {
    /// The fields as given, `null`s removed (a `null` leaves the current value, as in Marathon).
    public let fields: [String: MarathonJSON]

    /// Reads an update from a JSON object.
    /// - Throws: 422 for a non-object, wrong types, unknown fields, or values that break a rule of their own.
    public init(json: MarathonJSON) throws(MarathonAPIError) {
        guard case .object(let members) = json else {
            throw .invalidJSON([.init(path: "/", "error.expected.jsobject")])
        }
        let given = members.filter { $0.value != .null }
        var reader = JSONReader()
        _ = AppDefinition.read(.object(given), defaultID: .root, &reader)
        if let error = reader.error { throw error }
        self.fields = given
    }

    /// Parses and reads a request body; 400 for an empty or malformed body.
    public static func decode(body: Data) throws(MarathonAPIError) -> AppUpdate {
        try AppUpdate(json: MarathonJSON.parse(body))
    }

    /// Reads the body of PUT/PATCH `/v2/apps`: a list of updates, each with an `id`.
    /// Errors carry the element's index in the path (`/(1)/id`).
    public static func decodeList(body: Data) throws(MarathonAPIError) -> [AppUpdate] {
        guard case .array(let elements) = try MarathonJSON.parse(body) else {
            throw .invalidJSON([.init(path: "/", "error.expected.jsarray")])
        }
        var updates: [AppUpdate] = []
        var typeErrors: [MarathonAPIError.Violation] = []
        var ruleErrors: [MarathonAPIError.Violation] = []
        for (index, element) in elements.enumerated() {
            do throws(MarathonAPIError) {
                let update = try AppUpdate(json: element)
                if update.id == nil { typeErrors.append(.init(path: "/(\(index))/id", "error.path.missing")) }
                updates.append(update)
            } catch {
                let prefixed = error.violations.map {
                    MarathonAPIError.Violation(path: "/(\(index))" + ($0.path == "/" ? "" : $0.path), errors: $0.errors)
                }
                if error.status == 422, error.message == "Object is not valid" {
                    ruleErrors += prefixed
                } else {
                    typeErrors += prefixed
                }
            }
        }
        if !typeErrors.isEmpty { throw .invalidJSON(typeErrors) }
        if !ruleErrors.isEmpty { throw .notValid(ruleErrors) }
        return updates
    }

    /// The `id` field, if given.
    public var id: PathID? { fields["id"]?.stringValue.map { PathID($0) } }

    /// Whether this update only names a version to go back to.
    public var isRollback: Bool { rollbackVersion != nil && Set(fields.keys).subtracting(["id"]) == ["version"] }

    /// The version a rollback asks for.
    public var rollbackVersion: MarathonTimestamp? { fields["version"]?.stringValue.flatMap(MarathonTimestamp.init(parsing:)) }
}

extension AppDefinition {
    /// This app with `update`'s fields set, normalized and validated. The id, version and
    /// versionInfo stay as they are; the caller stamps the new version.
    ///
    /// Setting `cmd` clears `args` and the other way round; setting `ports` or
    /// `portDefinitions` replaces both, and `uris` or `fetch` both.
    /// - Throws: 422 when the merged app is not valid.
    public func applying(_ update: AppUpdate) throws(MarathonAPIError) -> AppDefinition {
        guard case .object(var merged) = json else { return self }
        let given = update.fields.filter { !["id", "version", "versionInfo"].contains($0.key) }
        if given["cmd"] != nil, given["args"] == nil { merged["args"] = nil }
        if given["args"] != nil, given["cmd"] == nil { merged["cmd"] = nil }
        if given["ports"] != nil { merged["portDefinitions"] = nil }
        if given["uris"] != nil { merged["fetch"] = nil }
        merged.merge(given) { _, new in new }
        var result = try AppDefinition(json: .object(merged), defaultID: id)
        result.id = id
        result.version = version
        result.versionInfo = versionInfo
        return result
    }

    /// A new app made from an update (PUT `/v2/apps/{id}` on a missing app), with
    /// defaults for what the update leaves out.
    /// - Throws: 422 when the app is not valid.
    public init(creatingFrom update: AppUpdate, id: PathID) throws(MarathonAPIError) {
        var fields = update.fields
        fields["id"] = .string(id.description)
        fields["version"] = nil
        fields["versionInfo"] = nil
        try self.init(json: .object(fields), defaultID: id)
    }
}
