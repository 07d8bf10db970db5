import AgoraProto
import Foundation
import GRDB

/// The registry in an SQLite file in the master's work dir (GRDB, WAL journal).
///
/// The file is held with an exclusive lock while open, so a second master on the
/// same work dir fails at start instead of corrupting the first one's state. Each
/// `apply(_:)` is one transaction, synced to disk (`synchronous = FULL`) before it
/// returns. The schema is created and upgraded by migrations when the file opens.
public final class SQLiteRegistry: Registry {
    /// The file name inside the master's work dir.
    public static let fileName = "registry.sqlite"

    /// The database file.
    public let path: String
    private let queue: DatabaseQueue

    /// Opens (creating if needed) `registry.sqlite` in `workDirectory`.
    public convenience init(workDirectory: String) throws {
        try self.init(path: URL(fileURLWithPath: workDirectory).appendingPathComponent(Self.fileName).path)
    }

    /// Opens (creating if needed) the registry at `path` and brings its schema up to date.
    /// - Throws: `RegistryError` naming the file and what went wrong.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "agora.registry"
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            // Before WAL is set up: with an exclusive lock SQLite needs no shared memory.
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Self.openError(error, path: path)
        }
        do {
            // Take the exclusive lock now and keep it until closed.
            try queue.inTransaction(.exclusive) { _ in .commit }
            let migrator = Self.migrator
            if try queue.read({ try migrator.hasBeenSuperseded($0) }) {
                throw RegistryError(.newerSchema, "the registry \(path) was written by a newer Agora with a schema "
                    + "this one does not know; run that version, or move the file away to start with an empty registry")
            }
            try migrator.migrate(queue)
        } catch let error as RegistryError {
            try? queue.close()
            throw error
        } catch {
            try? queue.close()
            throw Self.openError(error, path: path)
        }
    }

    /// The migrations applied to the file, oldest first.
    public func appliedMigrations() throws -> [String] {
        do {
            return try queue.read { try Self.migrator.appliedMigrations($0) }
        } catch {
            throw RegistryError(.readFailed, "cannot read the registry \(path): \(error)")
        }
    }

    /// Closes the file and releases its lock; the registry cannot be used afterwards.
    public func close() throws {
        do {
            try queue.close()
        } catch {
            throw RegistryError(.writeFailed, "cannot close the registry \(path): \(error)")
        }
    }

    // MARK: - Registry

    public func recover() throws -> RegistrySnapshot {
        do {
            return try queue.read { db in
                var snapshot = RegistrySnapshot()
                for row in try Row.fetchAll(db, sql: "SELECT id, hostname, info, state, unreachable_since FROM agent") {
                    let id: String = row["id"]
                    let stateName: String = row["state"]
                    guard let state = RegistryAgent.State(rawValue: stateName) else {
                        throw RegistryError(.corrupt, "the registry \(path) has agent \(id) in an unknown state \"\(stateName)\"")
                    }
                    let info = try Self.decode(row["info"], what: "agent \(id)", path: path) {
                        try Agora_V1_AgentInfo(serializedBytes: $0)
                    }
                    snapshot.agents[id] = RegistryAgent(id: id, hostname: row["hostname"], info: info, state: state,
                                                        unreachableSince: row["unreachable_since"])
                }
                for row in try Row.fetchAll(db, sql: "SELECT id, info, failover_deadline FROM framework") {
                    let id: String = row["id"]
                    let info = try Self.decode(row["info"], what: "framework \(id)", path: path) {
                        try Agora_V1_FrameworkInfo(serializedBytes: $0)
                    }
                    snapshot.frameworks[id] = RegistryFramework(id: id, info: info, failoverDeadline: row["failover_deadline"])
                }
                var weights: [String: Double] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT role, weight FROM role_weight") {
                    weights[row["role"]] = row["weight"]
                }
                snapshot.weights = RoleWeights(weights)
                snapshot.masterRuns = try String.fetchAll(db, sql: "SELECT id FROM master_run ORDER BY started_at, rowid")
                return snapshot
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError(.readFailed, "cannot read the registry \(path): \(error)")
        }
    }

    public func apply(_ changes: [RegistryChange]) throws {
        guard !changes.isEmpty else { return }
        do {
            try queue.write { db in
                for change in changes { try Self.apply(change, in: db) }
            }
        } catch {
            throw RegistryError(.writeFailed, "cannot write the registry \(path): \(error)")
        }
    }

    // MARK: - Schema

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE agent (
                    id TEXT PRIMARY KEY NOT NULL,
                    hostname TEXT NOT NULL,
                    info BLOB NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('admitted', 'unreachable', 'gone')),
                    unreachable_since REAL
                );
                CREATE TABLE framework (
                    id TEXT PRIMARY KEY NOT NULL,
                    info BLOB NOT NULL,
                    failover_deadline REAL
                );
                CREATE TABLE role_weight (
                    role TEXT PRIMARY KEY NOT NULL,
                    weight REAL NOT NULL CHECK (weight > 0)
                );
                CREATE TABLE master_run (
                    id TEXT PRIMARY KEY NOT NULL,
                    started_at REAL NOT NULL
                );
                """)
        }
        return migrator
    }

    private static func apply(_ change: RegistryChange, in db: Database) throws {
        switch change {
        case .admitAgent(let id, let hostname, let info):
            try db.cachedStatement(sql: """
                INSERT INTO agent (id, hostname, info, state, unreachable_since) VALUES (?, ?, ?, 'admitted', NULL)
                ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, info = excluded.info,
                    state = 'admitted', unreachable_since = NULL
                """).execute(arguments: [id, hostname, try info.serializedData()])
        case .markAgentUnreachable(let id, let since):
            try db.cachedStatement(sql: "UPDATE agent SET state = 'unreachable', unreachable_since = ? WHERE id = ?")
                .execute(arguments: [since, id])
        case .markAgentGone(let id):
            try db.cachedStatement(sql: "UPDATE agent SET state = 'gone', unreachable_since = NULL WHERE id = ?")
                .execute(arguments: [id])
        case .upsertFramework(let id, let info):
            try db.cachedStatement(sql: """
                INSERT INTO framework (id, info, failover_deadline) VALUES (?, ?, NULL)
                ON CONFLICT (id) DO UPDATE SET info = excluded.info, failover_deadline = NULL
                """).execute(arguments: [id, try info.serializedData()])
        case .markFrameworkDisconnected(let id, let deadline):
            try db.cachedStatement(sql: "UPDATE framework SET failover_deadline = ? WHERE id = ?")
                .execute(arguments: [deadline, id])
        case .removeFramework(let id):
            try db.cachedStatement(sql: "DELETE FROM framework WHERE id = ?").execute(arguments: [id])
        case .setWeights(let weights):
            try db.execute(sql: "DELETE FROM role_weight")
            for (role, weight) in weights.weights.sorted(by: { $0.key < $1.key }) {
                try db.cachedStatement(sql: "INSERT INTO role_weight (role, weight) VALUES (?, ?)")
                    .execute(arguments: [role, weight])
            }
        case .recordMasterRun(let id, let startedAt):
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO master_run (id, started_at) VALUES (?, ?)")
                .execute(arguments: [id, startedAt])
        }
    }

    private static func decode<M>(_ bytes: Data?, what: String, path: String,
                                  _ decoder: (Data) throws -> M) throws -> M {
        do {
            return try decoder(bytes ?? Data())
        } catch {
            throw RegistryError(.corrupt, "the registry \(path) holds an undecodable \(what): \(error)")
        }
    }

    private static func openError(_ error: any Error, path: String) -> RegistryError {
        let hint = "the master keeps its registry (agents, frameworks, weights) in this file"
        guard let error = error as? DatabaseError else {
            return RegistryError(.cannotOpen, "cannot open the registry \(path): \(error)")
        }
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return RegistryError(.corrupt, "the registry \(path) is not a valid SQLite database (\(error.message ?? "corrupt")); "
                + "\(hint): restore it from a backup, or move it away to start with an empty registry "
                + "(agents then re-register under their IDs, but frameworks and weights are forgotten)")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return RegistryError(.locked, "the registry \(path) is locked by another process; is another master "
                + "running with the same --work-dir?")
        default:
            return RegistryError(.cannotOpen, "cannot open the registry \(path): \(error.message ?? "\(error)") "
                + "(SQLite code \(error.resultCode.rawValue)); check that the --work-dir exists and is writable")
        }
    }
}
