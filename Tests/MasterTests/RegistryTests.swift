import AgoraProto
import Foundation
import Resources
import Testing

@testable import Master

/// `SQLiteRegistry` against real files in a temporary directory.
@Suite struct RegistryTests {
    /// A fresh temporary directory, removed after `body`.
    private func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agora-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory)
    }

    private static func agentInfo(_ id: String, cpus: Double = 2) -> Agora_V1_AgentInfo {
        var info = Agora_V1_AgentInfo()
        info.id.value = id
        info.hostname = "host-\(id)"
        info.resources = (try? Resources(parsing: "cpus:\(cpus);mem:1024;ports:[31000-31009]"))?.proto ?? []
        var attribute = Agora_V1_Attribute()
        attribute.name = "rack"
        attribute.type = .text
        attribute.text.value = "r1"
        info.attributes = [attribute]
        return info
    }

    private static func frameworkInfo(_ id: String, failoverTimeout: Double = 60) -> Agora_V1_FrameworkInfo {
        var info = Agora_V1_FrameworkInfo()
        info.id.value = id
        info.name = "framework \(id)"
        info.user = "tester"
        info.roles = ["ops", "dev"]
        info.failoverTimeout = failoverTimeout
        return info
    }

    /// One change of every kind, including overwrites.
    private static let changes: [RegistryChange] = [
        .recordMasterRun("run-a", startedAt: 1_000),
        .admitAgent("run-a-S1", hostname: "h1", info: agentInfo("run-a-S1")),
        .admitAgent("run-a-S2", hostname: "h2", info: agentInfo("run-a-S2")),
        .admitAgent("run-a-S3", hostname: "h3", info: agentInfo("run-a-S3")),
        .markAgentUnreachable("run-a-S2", since: 1_010.5),
        .markAgentGone("run-a-S3"),
        .upsertFramework("run-a-0001", info: frameworkInfo("run-a-0001")),
        .upsertFramework("run-a-0002", info: frameworkInfo("run-a-0002", failoverTimeout: 0)),
        .upsertFramework("run-a-0003", info: frameworkInfo("run-a-0003")),
        .markFrameworkDisconnected("run-a-0001", failoverDeadline: 1_070.25),
        .removeFramework("run-a-0003"),
        .setWeights(RoleWeights(["ops": 2, "dev": 0.5])),
        .recordMasterRun("run-b", startedAt: 2_000),
        .recordMasterRun("run-a", startedAt: 3_000),
    ]

    private static var expected: RegistrySnapshot {
        var snapshot = RegistrySnapshot()
        for change in changes { snapshot.apply(change) }
        return snapshot
    }

    @Test func aNewRegistryIsEmptyAndMigrated() throws {
        try withTemporaryDirectory { directory in
            let registry = try SQLiteRegistry(workDirectory: directory)
            #expect(try registry.recover() == RegistrySnapshot())
            #expect(try registry.appliedMigrations() == ["v1"])
            #expect(FileManager.default.fileExists(atPath: directory + "/registry.sqlite"))
            try registry.close()
        }
    }

    @Test func everyKindOfChangeRoundTrips() throws {
        try withTemporaryDirectory { directory in
            let registry = try SQLiteRegistry(workDirectory: directory)
            try registry.apply(Self.changes)
            let snapshot = try registry.recover()
            #expect(snapshot == Self.expected)

            // Spot checks of the reference semantics themselves.
            #expect(snapshot.agents["run-a-S1"]?.state == .admitted)
            #expect(snapshot.agents["run-a-S1"]?.info == Self.agentInfo("run-a-S1"))
            #expect(snapshot.agents["run-a-S2"]?.state == .unreachable)
            #expect(snapshot.agents["run-a-S2"]?.unreachableSince == 1_010.5)
            #expect(snapshot.agents["run-a-S3"]?.state == .gone)
            #expect(snapshot.frameworks.keys.sorted() == ["run-a-0001", "run-a-0002"])
            #expect(snapshot.frameworks["run-a-0001"]?.failoverDeadline == 1_070.25)
            #expect(snapshot.frameworks["run-a-0002"]?.failoverDeadline == nil)
            #expect(snapshot.frameworks["run-a-0001"]?.info == Self.frameworkInfo("run-a-0001"))
            #expect(snapshot.weights == RoleWeights(["ops": 2, "dev": 0.5]))
            #expect(snapshot.masterRuns == ["run-a", "run-b"])

            // The in-memory registry follows the same semantics.
            let memory = InMemoryRegistry()
            try memory.apply(Self.changes)
            #expect(try memory.recover() == snapshot)
            try registry.close()
        }
    }

    @Test func reAdmittingAnUnreachableAgentAndResubscribingClearTheirMarks() throws {
        try withTemporaryDirectory { directory in
            let registry = try SQLiteRegistry(workDirectory: directory)
            try registry.apply(Self.changes)
            try registry.apply([
                .admitAgent("run-a-S2", hostname: "h2-new", info: Self.agentInfo("run-a-S2", cpus: 8)),
                .upsertFramework("run-a-0001", info: Self.frameworkInfo("run-a-0001", failoverTimeout: 5)),
                .setWeights(RoleWeights()),
            ])
            let snapshot = try registry.recover()
            #expect(snapshot.agents["run-a-S2"] == RegistryAgent(id: "run-a-S2", hostname: "h2-new",
                                                                 info: Self.agentInfo("run-a-S2", cpus: 8), state: .admitted))
            #expect(snapshot.frameworks["run-a-0001"]?.failoverDeadline == nil)
            #expect(snapshot.frameworks["run-a-0001"]?.info.failoverTimeout == 5)
            #expect(snapshot.weights == RoleWeights())
            try registry.close()
        }
    }

    @Test func aReopenedRegistryHasEverythingAndMigratingAgainChangesNothing() throws {
        try withTemporaryDirectory { directory in
            let first = try SQLiteRegistry(workDirectory: directory)
            try first.apply(Self.changes)
            try first.close()

            for _ in 0..<2 {
                let reopened = try SQLiteRegistry(workDirectory: directory)
                #expect(try reopened.recover() == Self.expected)
                #expect(try reopened.appliedMigrations() == ["v1"])
                try reopened.close()
            }
        }
    }

    @Test func aBatchIsAppliedWhollyOrNotAtAll() throws {
        try withTemporaryDirectory { directory in
            let registry = try SQLiteRegistry(workDirectory: directory)
            // The schema refuses a weight that is not positive, after the agent was written.
            let error = try #require(throws: RegistryError.self) {
                try registry.apply([.admitAgent("x-S1", hostname: "h", info: Self.agentInfo("x-S1")),
                                    .setWeights(RoleWeights(["ops": -1]))])
            }
            #expect(error.code == .writeFailed)
            #expect(error.description.contains(registry.path))
            #expect(try registry.recover() == RegistrySnapshot())
            // The registry still works afterwards.
            try registry.apply([.admitAgent("x-S1", hostname: "h", info: Self.agentInfo("x-S1"))])
            #expect(try registry.recover().agents.keys.sorted() == ["x-S1"])
            try registry.close()
        }
    }

    @Test func aFileThatIsNotARegistryGivesAClearError() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/registry.sqlite"
            let bytes = Array("this is not a database, just some text\n".utf8)
                + (0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let garbage = Data(bytes)
            try garbage.write(to: URL(fileURLWithPath: path))

            let error = try #require(throws: RegistryError.self) { try SQLiteRegistry(workDirectory: directory) }
            #expect(error.code == .corrupt)
            #expect(error.description.contains(path), "\(error)")
            #expect(error.description.contains("not a valid SQLite database"), "\(error)")
            #expect(error.description.contains("move it away"), "\(error)")
        }
    }

    @Test func aRegistryThatCannotBeCreatedGivesAClearError() throws {
        try withTemporaryDirectory { directory in
            // The "directory" is a regular file, so nothing can be created below it
            // (permissions would not stop root, who runs these tests).
            let blocker = directory + "/not-a-directory"
            try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))

            let error = try #require(throws: RegistryError.self) { try SQLiteRegistry(workDirectory: blocker) }
            #expect(error.code == .cannotOpen)
            #expect(error.description.contains(blocker + "/registry.sqlite"), "\(error)")
            #expect(error.description.contains("writable"), "\(error)")
        }
    }

    @Test func aSecondMasterOnTheSameWorkDirIsRefused() throws {
        try withTemporaryDirectory { directory in
            let first = try SQLiteRegistry(workDirectory: directory)
            let error = try #require(throws: RegistryError.self) { try SQLiteRegistry(workDirectory: directory) }
            #expect(error.code == .locked)
            #expect(error.description.contains("another master"), "\(error)")
            try first.close()
            // Once the first one closes, the file opens again.
            let second = try SQLiteRegistry(workDirectory: directory)
            try second.close()
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "needs the sqlite3 tool"))
    func aRegistryFromANewerSchemaIsRefused() throws {
        try withTemporaryDirectory { directory in
            let registry = try SQLiteRegistry(workDirectory: directory)
            try registry.close()
            // A later Agora's migration, recorded in GRDB's table with the sqlite3 tool.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            process.arguments = [directory + "/registry.sqlite", "INSERT INTO grdb_migrations VALUES ('v99-future')"]
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0)

            let error = try #require(throws: RegistryError.self) { try SQLiteRegistry(workDirectory: directory) }
            #expect(error.code == .newerSchema)
            #expect(error.description.contains("newer Agora"), "\(error)")
        }
    }
}
