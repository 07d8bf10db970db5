import Foundation
import Testing
@testable import Agent

/// The agent builds `/state` and `/metrics` only when someone reads them.
@Suite struct AgentSnapshotStoreTests {
    @Test func aReaderWaitsForTheNextDocumentAndGetsIt() async throws {
        let store = AgentSnapshotStore(maximumWait: .seconds(60))
        store.publish(state: Data("old".utf8), metrics: "old")
        #expect(!store.isWanted, "nobody reads: nothing to build")

        let reader = Task { String(decoding: await store.state(), as: UTF8.self) }
        while !store.isWanted { await Task.yield() }
        store.publish(state: Data("new".utf8), metrics: "new")

        #expect(await reader.value == "new", "the reader sees the document built after it asked")
        #expect(!store.isWanted)
    }

    @Test func aStuckAgentStillAnswersWithTheLatestDocument() async throws {
        let store = AgentSnapshotStore(maximumWait: .milliseconds(50))
        store.publish(state: Data("latest".utf8), metrics: "latest metrics")
        #expect(await store.metrics() == "latest metrics")
        #expect(!store.isWanted, "the reader that gave up is no longer waiting")
    }

    @Test func readersAfterTheAgentStoppedDoNotWait() async throws {
        let store = AgentSnapshotStore(maximumWait: .seconds(60))
        let waiting = Task { await store.metrics() }
        while !store.isWanted { await Task.yield() }
        store.publish(state: Data("final".utf8), metrics: "final")
        store.close()
        #expect(await waiting.value == "final")
        #expect(String(decoding: await store.state(), as: UTF8.self) == "final")
    }
}
