import AgoraProto
import Foundation
import Framework
import GRDB

/// The app framework's state in `marathon.sqlite` in its work dir: the framework ID,
/// apps, their versions, instances and deployments, each row one JSON document.
/// Apps and instances are separate rows, so a change writes only what changed.
///
/// The file is held with an exclusive lock, so a second `agora marathon` on the same
/// work dir fails at start. Each `save` is one transaction, synced before it returns.
public final class MarathonStore: Sendable {
    public static let fileName = "marathon.sqlite"

    /// Everything in the store, as loaded at start.
    public struct Contents: Sendable {
        public var frameworkID: String?
        public var apps: [AppDefinition]
        public var versions: [AppDefinition]
        public var instances: [Instance]
        public var deployments: [Deployment]
    }

    public let path: String
    private let queue: DatabaseQueue

    public init(workDirectory: String) throws {
        path = URL(fileURLWithPath: workDirectory).appendingPathComponent(Self.fileName).path
        var configuration = Configuration()
        configuration.label = "agora.marathon"
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.inTransaction(.exclusive) { _ in .commit }
            try Self.migrator.migrate(queue)
        } catch {
            throw MarathonStoreError("cannot open \(path) (is another agora marathon using this work dir?): \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE apps (id TEXT PRIMARY KEY, json BLOB NOT NULL);
                CREATE TABLE app_versions (id TEXT NOT NULL, version TEXT NOT NULL, json BLOB NOT NULL,
                                           PRIMARY KEY (id, version));
                CREATE TABLE instances (task_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, json BLOB NOT NULL);
                CREATE TABLE deployments (id TEXT PRIMARY KEY, json BLOB NOT NULL);
                """)
        }
        return migrator
    }

    /// Reads everything.
    public func loadContents() throws -> Contents {
        let decoder = JSONDecoder()
        do {
            return try queue.read { db in
                func documents<T: Decodable>(_ sql: String, as type: T.Type) throws -> [T] {
                    try Data.fetchAll(db, sql: sql).map { try decoder.decode(T.self, from: $0) }
                }
                return Contents(
                    frameworkID: try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'framework_id'"),
                    apps: try documents("SELECT json FROM apps ORDER BY id", as: AppDefinition.self),
                    versions: try documents("SELECT json FROM app_versions ORDER BY id, version", as: AppDefinition.self),
                    instances: try documents("SELECT json FROM instances ORDER BY task_id", as: Instance.self),
                    deployments: try documents("SELECT json FROM deployments ORDER BY id", as: Deployment.self))
            }
        } catch {
            throw MarathonStoreError("cannot read \(path): \(error)")
        }
    }


    /// Writes what `changes` names, as `core` has it now, in one transaction.
    public func save(_ changes: MarathonCore.Changes, from core: MarathonCore, keepingVersions limit: Int) throws {
        guard !changes.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try write { db in
            for id in changes.apps {
                guard let app = core.apps[id]?.definition else { continue }
                try db.execute(sql: "INSERT OR REPLACE INTO apps (id, json) VALUES (?, ?)",
                               arguments: [id, try encoder.encode(app)])
            }
            for version in changes.versions {
                try db.execute(sql: "INSERT OR REPLACE INTO app_versions (id, version, json) VALUES (?, ?, ?)",
                               arguments: [version.id.description, version.version?.description ?? "", try encoder.encode(version)])
                try db.execute(sql: """
                    DELETE FROM app_versions WHERE id = ? AND version NOT IN
                      (SELECT version FROM app_versions WHERE id = ? ORDER BY version DESC LIMIT ?)
                    """, arguments: [version.id.description, version.id.description, limit])
            }
            for id in changes.removedApps {
                try db.execute(sql: "DELETE FROM apps WHERE id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM app_versions WHERE id = ?", arguments: [id])
            }
            for taskID in changes.instances {
                guard let instance = core.instances[taskID] else { continue }
                try db.execute(sql: "INSERT OR REPLACE INTO instances (task_id, app_id, json) VALUES (?, ?, ?)",
                               arguments: [taskID, instance.appID, try encoder.encode(instance)])
            }
            for taskID in changes.removedInstances where core.instances[taskID] == nil {
                try db.execute(sql: "DELETE FROM instances WHERE task_id = ?", arguments: [taskID])
            }
            for id in changes.deployments {
                guard let deployment = core.deployments[id] else { continue }
                try db.execute(sql: "INSERT OR REPLACE INTO deployments (id, json) VALUES (?, ?)",
                               arguments: [id, try encoder.encode(deployment)])
            }
            for id in changes.removedDeployments {
                try db.execute(sql: "DELETE FROM deployments WHERE id = ?", arguments: [id])
            }
        }
    }

    private func write(_ body: (Database) throws -> Void) throws {
        do {
            try queue.inTransaction(.immediate) { db in
                try body(db)
                return .commit
            }
        } catch {
            throw MarathonStoreError("cannot write \(path): \(error)")
        }
    }
}

public struct MarathonStoreError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The framework ID lives in the same file as the rest of the state.
extension MarathonStore: FrameworkIDStore {
    public func load() throws -> Agora_V1_FrameworkID? {
        let value = try queue.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'framework_id'") }
        return value.map { value in
            var id = Agora_V1_FrameworkID()
            id.value = value
            return id
        }
    }

    public func save(_ id: Agora_V1_FrameworkID) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('framework_id', ?)",
                           arguments: [id.value])
        }
    }

    public func clear() throws {
        try write { try $0.execute(sql: "DELETE FROM meta WHERE key = 'framework_id'") }
    }
}
