import Foundation
import Snapshots
import Testing

/// A daemon builds `/state` and `/metrics` only for readers; a reader gets a document
/// that includes every change noted before it asked.
@Suite("Snapshot store")
struct SnapshotStoreTests {
    @Test func nothingIsCapturedWhileNobodyReads() {
        let store = SnapshotStore()
        store.noteChange()
        #expect(store.claimCapture() == nil)
    }

    @Test func aReaderWaitsForADocumentThatIncludesEarlierChanges() async {
        let store = SnapshotStore()
        let reader = Task { await store.state() }
        let capture = await claimWhenWanted(store)
        #expect(capture.includesState && !capture.includesMetrics, "a /state read does not build /metrics")
        store.publish(capture, state: Data("first".utf8), metrics: nil)
        #expect(String(decoding: await reader.value, as: UTF8.self) == "first")

        // With no change since, the next reader is answered at once, without a capture.
        #expect(String(decoding: await store.state(), as: UTF8.self) == "first")
        #expect(store.claimCapture() == nil)
    }

    @Test func aReaderThatCameAfterACaptureBeganWaitsForTheNextOne() async {
        let store = SnapshotStore()
        let early = Task { await store.metrics() }
        let first = await claimWhenWanted(store)
        #expect(first.includesMetrics && !first.includesState, "a /metrics read does not build /state")
        store.noteChange()  // after the capture began: the late reader must see it
        let late = Task { await store.metrics() }
        try? await waitUntil { store.waiterCount == 2 }
        store.publish(first, state: nil, metrics: Data("one".utf8))
        #expect(await early.value == "one")

        let second = await claimWhenWanted(store)
        #expect(second.changes > first.changes)
        store.publish(second, state: nil, metrics: Data("two".utf8))
        #expect(await late.value == "two")
    }

    @Test func aSummaryReadBuildsOnlyTheSummary() async {
        let store = SnapshotStore()
        let reader = Task { await store.summary() }
        let capture = await claimWhenWanted(store)
        #expect(capture.includesSummary && !capture.includesState && !capture.includesMetrics)
        store.publish(capture, state: nil, summary: Data("summary".utf8), metrics: nil)
        #expect(String(decoding: await reader.value, as: UTF8.self) == "summary")
        #expect(String(decoding: await store.summary(), as: UTF8.self) == "summary", "no change since: answered at once")
        #expect(store.claimCapture() == nil)
    }

    @Test func aTasksReadBuildsOnlyTheListingAndPagesOfItNeedNoEncoding() async {
        let store = SnapshotStore()
        let reader = Task { await store.tasks() }
        let capture = await claimWhenWanted(store)
        #expect(capture.includesTasks && !capture.includesState && !capture.includesSummary && !capture.includesMetrics)
        let bytes = Data(#"{"id":"a"}{"id":"b"}{"id":"c"}"#.utf8)
        let listing = JSONListing(bytes: bytes, elements: [
            .init(range: 0..<10, group: "f", id: "a"), .init(range: 10..<20, group: "f", id: "b"),
            .init(range: 20..<30, group: "g", id: "c"),
        ])
        store.publish(capture, state: nil, tasks: listing, metrics: nil)
        let published = await reader.value
        #expect(published.elements.map(\.id) == ["a", "b", "c"])
        #expect(String(decoding: published.array(of: [2, 0]), as: UTF8.self) == #"[{"id":"c"},{"id":"a"}]"#)
        #expect(String(decoding: published.array(of: []), as: UTF8.self) == "[]")
    }

    @Test func aReaderGetsTheLatestDocumentWhenNoCaptureComesInTime() async {
        let store = SnapshotStore(maximumWait: .milliseconds(50))
        #expect(String(decoding: await store.state(), as: UTF8.self) == "{}")
    }

    @Test func readersAfterTheDaemonStoppedDoNotWait() async {
        let store = SnapshotStore(maximumWait: .seconds(60))
        let published = Task { await store.metrics() }
        store.publish(await claimWhenWanted(store), state: nil, metrics: Data("final".utf8))
        #expect(await published.value == "final")

        store.noteChange()
        let waiting = Task { await store.metrics() }
        try? await waitUntil { store.waiterCount == 1 }
        store.close(metrics: Data("last".utf8))
        #expect(store.waiterCount == 0, "closing lets the waiting reader go at once, not after its 60 s")
        #expect(await waiting.value == "last", "with the document the daemon left")
        store.noteChange()
        #expect(await store.metrics() == "last", "and a reader after it gets that document")
        #expect(store.claimCapture() == nil, "without asking a stopped daemon for a capture")
    }

    /// Polls until a reader has asked for a capture, and claims it.
    private func claimWhenWanted(_ store: SnapshotStore) async -> SnapshotStore.Capture {
        var capture: SnapshotStore.Capture?
        try? await waitUntil {
            capture = store.claimCapture()
            return capture != nil
        }
        return capture!
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
