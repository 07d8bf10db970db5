import Foundation
import ProcessSupervision
import Testing

@testable import Agent

/// Where the agent finds `agora-executor`, and what it says when it cannot use it.
struct BuiltInExecutorProgramTests {
    @Test(arguments: [
        ("/opt/agora/bin/agora", "/opt/agora/bin/agora-executor"),
        ("/usr/local/bin/agora", "/usr/local/bin/agora-executor"),
    ])
    func theProgramIsBesideAgora(agora: String, expected: String) {
        let options = AgentRuntimeOptions(agoraExecutable: agora, workDirectory: "/tmp/w", useCgroups: false)
        #expect(options.builtInExecutorPath == expected)
    }

    @Test func aRelativeAgoraPathGivesAnAbsoluteProgramPath() {
        let options = AgentRuntimeOptions(agoraExecutable: "bin/agora", workDirectory: "/tmp/w", useCgroups: false)
        let expected = FileManager.default.currentDirectoryPath + "/bin/agora-executor"
        #expect(options.builtInExecutorPath == expected)
    }

    @Test func aMissingProgramIsNamed() throws {
        let path = NSTemporaryDirectory() + "agora-no-such-dir-\(UUID().uuidString.prefix(8))/agora-executor"
        let error = try #require(throws: SpawnError.self) { try AgentServer.checkBuiltInExecutor(at: path) }
        #expect(error.code == .executableNotFound)
        #expect(error.description.contains(path) && error.description.contains("missing"))
    }

    @Test func aProgramThatCannotRunIsNamed() throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        let path = directory + "/agora-executor"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8),
                                               attributes: [.posixPermissions: 0o644]))
        let error = try #require(throws: SpawnError.self) { try AgentServer.checkBuiltInExecutor(at: path) }
        #expect(error.code == .notExecutable)
        #expect(error.description.contains(path))

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        #expect(throws: Never.self) { try AgentServer.checkBuiltInExecutor(at: path) }
    }
}
