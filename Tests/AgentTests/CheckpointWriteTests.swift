import Foundation
import Testing

@testable import Agent

@Suite struct CheckpointWriteTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agora-checkpoint-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aDurableWriteReplacesTheFileAndLeavesNoTemporary() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/checkpoint.json"
        try AgentServer.writeDurably(Data("old".utf8), to: path)
        let large = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0) })
        try AgentServer.writeDurably(large, to: path)
        #expect(FileManager.default.contents(atPath: path) == large)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["checkpoint.json"])
    }

    @Test func aWriteIntoAMissingDirectoryFails() throws {
        let directory = try Self.temporaryDirectory()
        try FileManager.default.removeItem(atPath: directory)
        #expect(throws: POSIXError.self) { try AgentServer.writeDurably(Data("x".utf8), to: directory + "/checkpoint.json") }
    }

    @Test func theInboxHandsOutInputsInOrderInBoundedBatches() async {
        let inbox = AgentInbox()
        for _ in 0..<5 { inbox.post(.tick) }
        inbox.post(.masterConnected)
        #expect(await inbox.waitForInput())
        let first = inbox.take(upTo: 4)
        let second = inbox.take(upTo: 4)
        #expect(first.count == 4)
        #expect(second.count == 2)
        if case .masterConnected = second.last {} else { Issue.record("the last input posted is not the last taken: \(second)") }
        #expect(inbox.take(upTo: 4).isEmpty)
        inbox.finish()
        #expect(await inbox.waitForInput() == false)
    }
}
