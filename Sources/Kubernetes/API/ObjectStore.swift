import Foundation
import GRDB

/// What happened to an object, as a watch reports it.
public enum WatchEventType: String, Sendable {
    case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
}

/// One watch event: the type and the object after the change (before it, for DELETED).
public struct WatchEvent: Sendable {
    public let type: WatchEventType
    public let object: JSONValue

    public init(type: WatchEventType, object: JSONValue) {
        self.type = type
        self.object = object
    }
}

/// Every API object, kept in memory and written through to SQLite (GRDB) in the work
/// dir, with one store-wide resourceVersion counter and a bounded history of changes
/// for watches. All writers (the HTTP layer and the controllers) go through it, so
/// metadata bookkeeping (uid, resourceVersion, generation, timestamps) and validation
/// happen in one place.
///
/// The namespaces `default` and `kube-system` always exist; namespaced objects can only
/// be created in an existing namespace.
public actor ObjectStore {
    /// How many changes are kept for watches that resume from a resourceVersion.
    public static let historyLimit = 10_000
    /// How many events a watcher may fall behind before its stream is closed (it re-watches).
    public static let watcherBufferLimit = 10_000

    private let database: DatabaseQueue
    private let now: @Sendable () -> Date
    private var objects: [ResourceType: [String: JSONValue]] = [:]
    /// The resourceVersion of the latest change.
    private var currentVersion: Int64 = 0
    /// Changes after `historyStart`, oldest first.
    private var history: [(version: Int64, type: ResourceType, event: WatchEvent)] = []
    private var historyStart: Int64 = 0
    private var watchers: [UUID: Watcher] = [:]

    private struct Watcher {
        let type: ResourceType
        let namespace: String?
        let continuation: AsyncStream<WatchEvent>.Continuation
    }

    /// Opens (or creates) the SQLite database at `path` and loads every object.
    /// `now` is the clock for creationTimestamp and deletionTimestamp.
    public init(path: String, now: @escaping @Sendable () -> Date = { Date() }) throws {
        var configuration = Configuration()
        configuration.label = "agora.kube.objects"
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        self.now = now
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE object (resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                                     body BLOB NOT NULL, PRIMARY KEY (resource, namespace, name));
                CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 0), resource_version INTEGER NOT NULL);
                INSERT INTO counter (id, resource_version) VALUES (0, 0);
                """)
        }
        try migrator.migrate(database)
        let byKey = Dictionary(uniqueKeysWithValues: ResourceType.all.map { ($0.storageKey, $0) })
        var loaded: [ResourceType: [String: JSONValue]] = [:]
        let version = try database.read { db -> Int64 in
            for row in try Row.fetchAll(db, sql: "SELECT resource, namespace, name, body FROM object") {
                let resource: String = row["resource"]
                guard let type = byKey[resource] else { continue }
                let namespace: String = row["namespace"]
                let name: String = row["name"]
                let body: Data = row["body"]
                loaded[type, default: [:]][Self.key(namespace, name)] = try JSONValue(data: body)
            }
            return try Int64.fetchOne(db, sql: "SELECT resource_version FROM counter") ?? 0
        }
        objects = loaded
        currentVersion = version
        historyStart = version
        for name in ["default", "kube-system"] where loaded[.namespaces]?[Self.key("", name)] == nil {
            let namespace: JSONValue = ["metadata": ["name": .string(name)]]
            try Self.insert(into: &objects, database: database, version: &currentVersion, now: now(),
                            type: .namespaces, namespace: nil, object: namespace)
            historyStart = currentVersion
        }
    }

    // MARK: - Reads

    /// The object, or 404 NotFound.
    public func get(_ type: ResourceType, namespace: String?, name: String) throws(APIError) -> JSONValue {
        guard let object = objects[type]?[Self.key(type.namespaced ? namespace ?? "" : "", name)] else {
            throw .notFound(type, name: name)
        }
        return object
    }

    /// Items plus the store's current resourceVersion (the watch start point). `namespace`
    /// nil lists every namespace; `fieldSelector` maps dotted paths ("metadata.name",
    /// "involvedObject.uid", "spec.nodeName") to the value they must equal.
    public func list(_ type: ResourceType, namespace: String?, labelSelector: LabelSelector? = nil,
                     fieldSelector: [String: String] = [:]) -> (items: [JSONValue], resourceVersion: String) {
        let items = (objects[type] ?? [:]).sorted { $0.key < $1.key }.map(\.value).filter {
            Self.matches($0, type: type, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector)
        }
        return (items, String(currentVersion))
    }

    /// Whether `object` is in `namespace` (nil: any) and matches both selectors.
    public static func matches(_ object: JSONValue, type: ResourceType, namespace: String?,
                               labelSelector: LabelSelector?, fieldSelector: [String: String]) -> Bool {
        if type.namespaced, let namespace, object.namespace != namespace { return false }
        if let labelSelector, !labelSelector.matches(object.labels) { return false }
        for (field, value) in fieldSelector {
            let actual = object[path: field.split(separator: ".").map(String.init)]?.selectorString ?? ""
            if actual != value { return false }
        }
        return true
    }

    // MARK: - Writes

    /// Creates the object: fills uid, resourceVersion, creationTimestamp, generation 1 and
    /// the namespace; a `generateName` without a name gets a random suffix.
    /// - Throws: 409 AlreadyExists, 404 when the namespace is missing, 422 Invalid, 400
    ///   when the body's kind or namespace contradicts the request.
    public func create(_ type: ResourceType, namespace: String?, object: JSONValue) throws(APIError) -> JSONValue {
        var object = object
        if object.name.isEmpty, let prefix = object[path: ["metadata", "generateName"]]?.stringValue, !prefix.isEmpty {
            var name: String
            repeat {
                name = prefix + Self.randomSuffix()
            } while objects[type]?[Self.key(type.namespaced ? namespace ?? "" : "", name)] != nil
            object[path: ["metadata", "name"]] = .string(name)
        }
        // As the Kubernetes API server does, a new pod starts Pending: clients read
        // `status.phase` at once.
        if type == .pods, object[path: ["status", "phase"]] == nil {
            object[path: ["status", "phase"]] = .string("Pending")
        }
        if type.namespaced {
            guard let namespace, !namespace.isEmpty else { throw .badRequest("a namespace is required to create \(type.resource)") }
            if type != .events, objects[.namespaces]?[Self.key("", namespace)] == nil {
                throw .notFound(.namespaces, name: namespace)
            }
            if type != .events, objects[.namespaces]?[Self.key("", namespace)]?[path: ["metadata", "deletionTimestamp"]] != nil {
                throw .forbidden("unable to create new content in namespace \(namespace) because it is being terminated")
            }
        }
        do {
            let created = try Self.insert(into: &objects, database: database, version: &currentVersion, now: now(),
                                          type: type, namespace: namespace, object: object)
            record(type, WatchEvent(type: .added, object: created))
            return created
        } catch let error as APIError {
            throw error
        } catch {
            throw .internalError("cannot store \(type.resource) \"\(object.name)\": \(error)")
        }
    }

    /// Replaces the object. `metadata.resourceVersion`, when set, must match the stored one
    /// (else 409 Conflict). uid, creationTimestamp and a set deletionTimestamp are kept;
    /// `generation` is bumped when `spec` changed. The stored `status` is kept unless
    /// `subresource == "status"`, in which case only `status` changes. An update that
    /// changes nothing returns the stored object without a new resourceVersion.
    public func update(_ type: ResourceType, namespace: String?, name: String, object: JSONValue,
                       subresource: String? = nil) throws(APIError) -> JSONValue {
        let namespaceKey = type.namespaced ? namespace ?? "" : ""
        let key = Self.key(namespaceKey, name)
        guard let existing = objects[type]?[key] else { throw .notFound(type, name: name) }
        if let version = object.resourceVersion, !version.isEmpty, version != existing.resourceVersion {
            throw .conflict(type, name: name)
        }
        if !object.name.isEmpty, object.name != name {
            throw .badRequest("the name of the object (\(object.name)) does not match the name on the URL (\(name))")
        }
        if type.namespaced, let bodyNamespace = object.namespace, !bodyNamespace.isEmpty, bodyNamespace != namespaceKey {
            throw .badRequest("the namespace of the object (\(bodyNamespace)) does not match the namespace on the request (\(namespaceKey))")
        }
        var updated: JSONValue
        switch subresource {
        case "status":
            updated = existing
            updated["status"] = object["status"]
        case nil:
            updated = object
            updated["apiVersion"] = .string(type.apiVersion)
            updated["kind"] = .string(type.kind)
            updated["status"] = type == .events ? object["status"] : existing["status"]
            for field in ["uid", "creationTimestamp", "generation", "name", "namespace"] {
                updated[path: ["metadata", field]] = existing[path: ["metadata", field]]
            }
            if let deletion = existing[path: ["metadata", "deletionTimestamp"]] {
                updated[path: ["metadata", "deletionTimestamp"]] = deletion
            }
            if type != .events, updated["spec"] != existing["spec"] {
                let generation = existing[path: ["metadata", "generation"]]?.intValue ?? 1
                updated[path: ["metadata", "generation"]] = .int(generation + 1)
            }
            let problems = ObjectValidation.problems(type, updated)
            guard problems.isEmpty else { throw .invalid(type, name: name, causes: problems) }
        case let other?:
            throw .badRequest("\(type.resource) has no subresource \"\(other)\" that can be updated this way")
        }
        updated[path: ["metadata", "resourceVersion"]] = existing[path: ["metadata", "resourceVersion"]]
        if updated == existing { return existing }
        currentVersion += 1
        updated[path: ["metadata", "resourceVersion"]] = .string(String(currentVersion))
        do {
            try Self.write(database, type: type, namespace: namespaceKey, name: name, body: updated, version: currentVersion)
        } catch {
            currentVersion -= 1
            throw .internalError("cannot store \(type.resource) \"\(name)\": \(error)")
        }
        objects[type, default: [:]][key] = updated
        record(type, WatchEvent(type: .modified, object: updated))
        return updated
    }

    /// Reads the object, applies `mutate` and writes it back (to `status` only when
    /// `status` is true). An APIError thrown by `mutate` is rethrown as it is; any other
    /// error becomes 500. Runs without interleaving, so it never conflicts.
    public func modify(_ type: ResourceType, namespace: String?, name: String, status: Bool = false,
                       _ mutate: @Sendable (inout JSONValue) throws -> Void) throws(APIError) -> JSONValue {
        var object = try get(type, namespace: namespace, name: name)
        let version = object.resourceVersion
        do {
            try mutate(&object)
        } catch let error as APIError {
            throw error
        } catch {
            throw .internalError("cannot modify \(type.resource) \"\(name)\": \(error)")
        }
        object[path: ["metadata", "resourceVersion"]] = version.map(JSONValue.string)
        return try update(type, namespace: namespace, name: name, object: object, subresource: status ? "status" : nil)
    }

    /// Deletes now and returns the last state; garbage collection of dependents is the
    /// controllers' job (they watch DELETED events and ownerReferences). Deleting a
    /// namespace deletes every object in it; `default` and `kube-system` cannot be deleted.
    public func delete(_ type: ResourceType, namespace: String?, name: String) throws(APIError) -> JSONValue {
        let namespaceKey = type.namespaced ? namespace ?? "" : ""
        guard var object = objects[type]?[Self.key(namespaceKey, name)] else { throw .notFound(type, name: name) }
        if type == .namespaces {
            guard !["default", "kube-system"].contains(name) else {
                throw .forbidden("namespaces \"\(name)\" is forbidden: this namespace may not be deleted")
            }
            for contained in ResourceType.all where contained.namespaced {
                for item in (objects[contained] ?? [:]).values where item.namespace == name {
                    _ = try delete(contained, namespace: name, name: item.name)
                }
            }
        }
        currentVersion += 1
        object[path: ["metadata", "resourceVersion"]] = .string(String(currentVersion))
        do {
            try database.write { db in
                try db.execute(sql: "DELETE FROM object WHERE resource = ? AND namespace = ? AND name = ?",
                               arguments: [type.storageKey, namespaceKey, name])
                try db.execute(sql: "UPDATE counter SET resource_version = ?", arguments: [currentVersion])
            }
        } catch {
            currentVersion -= 1
            throw .internalError("cannot delete \(type.resource) \"\(name)\": \(error)")
        }
        objects[type]?[Self.key(namespaceKey, name)] = nil
        record(type, WatchEvent(type: .deleted, object: object))
        return object
    }

    // MARK: - Watches

    /// ADDED for existing objects when `resourceVersion` is nil, "" or "0", then every change
    /// after it, for objects of `type` in `namespace` (nil: all). The stream ends when the
    /// watcher falls more than `watcherBufferLimit` events behind; the client re-watches.
    /// - Throws: 410 Gone when `resourceVersion` is older than the retained history;
    ///   400 when it is not a number.
    public func watch(_ type: ResourceType, namespace: String?, resourceVersion: String?) throws(APIError) -> AsyncStream<WatchEvent> {
        var replay: [WatchEvent] = []
        switch resourceVersion {
        case nil, "", "0":
            replay = list(type, namespace: namespace).items.map { WatchEvent(type: .added, object: $0) }
        case let text?:
            guard let version = Int64(text) else { throw .badRequest("invalid resourceVersion \"\(text)\"") }
            guard version >= historyStart else { throw .gone(resourceVersion: text, oldest: historyStart) }
            replay = history.filter { $0.version > version && $0.type == type }
                .map(\.event)
                .filter { !type.namespaced || namespace == nil || $0.object.namespace == namespace }
        }
        let (stream, continuation) = AsyncStream.makeStream(of: WatchEvent.self,
                                                             bufferingPolicy: .bufferingOldest(Self.watcherBufferLimit))
        for event in replay { continuation.yield(event) }
        let id = UUID()
        watchers[id] = Watcher(type: type, namespace: type.namespaced ? namespace : nil, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(id) }
        }
        return stream
    }

    /// Ends every open watch stream (at shutdown: an open watch would otherwise keep
    /// the HTTP server's graceful shutdown waiting for its timeout).
    public func closeWatches() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers = [:]
    }

    /// How many watch streams are open (for tests and metrics).
    public var watcherCount: Int { watchers.count }

    private func removeWatcher(_ id: UUID) {
        watchers[id] = nil
    }

    private func record(_ type: ResourceType, _ event: WatchEvent) {
        history.append((currentVersion, type, event))
        if history.count > Self.historyLimit {
            let dropped = history.count - Self.historyLimit
            historyStart = history[dropped - 1].version
            history.removeFirst(dropped)
        }
        for (id, watcher) in watchers where watcher.type == type {
            if let namespace = watcher.namespace, event.object.namespace != namespace { continue }
            if case .dropped = watcher.continuation.yield(event) {
                watcher.continuation.finish()
                watchers[id] = nil
            }
        }
    }

    // MARK: - Storage

    private static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    private static func randomSuffix() -> String {
        String((0..<5).map { _ in PodTemplateHash.alphabet.randomElement()! })
    }

    /// RFC 3339 in UTC with second precision, as Kubernetes writes timestamps.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!))
    }

    @discardableResult
    private static func insert(into objects: inout [ResourceType: [String: JSONValue]], database: DatabaseQueue,
                               version: inout Int64, now: Date, type: ResourceType, namespace: String?, object: JSONValue) throws -> JSONValue {
        var object = object
        let namespaceKey = type.namespaced ? namespace ?? "" : ""
        if let kind = object["kind"]?.stringValue, kind != type.kind {
            throw APIError.badRequest("the kind of the object (\(kind)) does not match the resource \(type.resource) (\(type.kind))")
        }
        if type.namespaced, let bodyNamespace = object.namespace, !bodyNamespace.isEmpty, bodyNamespace != namespaceKey {
            throw APIError.badRequest("the namespace of the provided object (\(bodyNamespace)) does not match the namespace "
                + "sent on the request (\(namespaceKey))")
        }
        let problems = ObjectValidation.problems(type, object)
        guard problems.isEmpty else { throw APIError.invalid(type, name: object.name, causes: problems) }
        let key = Self.key(namespaceKey, object.name)
        guard objects[type]?[key] == nil else { throw APIError.alreadyExists(type, name: object.name) }
        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)
        var metadata = object["metadata"]?.objectValue ?? [:]
        if type.namespaced { metadata["namespace"] = .string(namespaceKey) } else { metadata["namespace"] = nil }
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(timestamp(now))
        metadata["generation"] = .int(1)
        metadata["deletionTimestamp"] = nil
        metadata["deletionGracePeriodSeconds"] = nil
        metadata["resourceVersion"] = .string(String(version + 1))
        object["metadata"] = .object(metadata)
        if type == .namespaces, object[path: ["status", "phase"]] == nil {
            object["status"] = ["phase": "Active"]
        }
        try write(database, type: type, namespace: namespaceKey, name: object.name, body: object, version: version + 1)
        version += 1
        objects[type, default: [:]][key] = object
        return object
    }

    private static func write(_ database: DatabaseQueue, type: ResourceType, namespace: String, name: String,
                              body: JSONValue, version: Int64) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO object (resource, namespace, name, body) VALUES (?, ?, ?, ?)",
                           arguments: [type.storageKey, namespace, name, body.encoded()])
            try db.execute(sql: "UPDATE counter SET resource_version = ?", arguments: [version])
        }
    }
}
