import Foundation
import Synchronization

/// A daemon's `/state` document and `/metrics` text, built on demand.
///
/// The daemon (master or agent) notes each change of its state here. A reader that
/// finds the published document older than the changes noted so far asks for a new one
/// and waits until the daemon has published one that includes those changes (or
/// `maximumWait` has passed, or the daemon stopped: then it gets the latest there is).
/// The daemon looks for a capture to make with `claimCapture()` on its own schedule.
/// Nothing is built while nobody reads, a `/metrics` read never builds the (large)
/// `/state` document, and one capture at a time is in flight however many readers wait.
public final class SnapshotStore: Sendable {
    /// What one capture builds: the documents readers wait for, as of `changes` changes.
    public struct Capture: Sendable, Equatable {
        public let changes: Int
        public let includesState: Bool
        public let includesMetrics: Bool
    }

    private enum Document {
        case state, metrics
    }

    private struct Published {
        var body: Data
        /// How many of the noted changes `body` includes.
        var changes = 0
        var wanted = false
    }

    private struct Waiter {
        let document: Document
        let changes: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct Shared {
        var state = Published(body: Data("{}".utf8))
        var metrics = Published(body: Data())
        var changes = 1
        var capturing = false
        var closed = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]

        subscript(document: Document) -> Published {
            get { document == .state ? state : metrics }
            set { if document == .state { state = newValue } else { metrics = newValue } }
        }
    }

    private let shared = Mutex(Shared())
    private let maximumWait: Duration

    public init(maximumWait: Duration = .seconds(10)) {
        self.maximumWait = maximumWait
    }

    /// The `/state` document (JSON), including every change noted before the call.
    public func state() async -> Data {
        await current(.state)
    }

    /// The `/metrics` text (Prometheus), including every change noted before the call.
    public func metrics() async -> String {
        String(decoding: await current(.metrics), as: UTF8.self)
    }

    /// Readers waiting for a capture.
    public var waiterCount: Int {
        shared.withLock { $0.waiters.count }
    }

    /// The daemon's state changed: readers from now on wait for a document that includes it.
    public func noteChange() {
        shared.withLock { $0.changes &+= 1 }
    }

    /// When a reader waits and no capture is in flight: claims the capture of the
    /// documents wanted, as of the changes noted so far.
    public func claimCapture() -> Capture? {
        shared.withLock { shared in
            guard shared.state.wanted || shared.metrics.wanted, !shared.capturing else { return nil }
            let capture = Capture(changes: shared.changes, includesState: shared.state.wanted,
                                  includesMetrics: shared.metrics.wanted)
            shared.state.wanted = false
            shared.metrics.wanted = false
            shared.capturing = true
            return capture
        }
    }

    /// Publishes what `capture` built (nil: not asked for) and wakes the readers it satisfies.
    public func publish(_ capture: Capture, state: Data?, metrics: Data?) {
        let ready = shared.withLock { shared in
            if let state { shared.state = Published(body: state, changes: max(shared.state.changes, capture.changes)) }
            if let metrics {
                shared.metrics = Published(body: metrics, changes: max(shared.metrics.changes, capture.changes))
            }
            shared.capturing = false
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in shared.waiters {
                if waiter.changes <= shared[waiter.document].changes {
                    ready.append(waiter.continuation)
                    shared.waiters[id] = nil
                } else {
                    // It came after this capture began: the next capture is for it.
                    shared[waiter.document].wanted = true
                }
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// The daemon stopped, leaving `state` and `metrics` as its last documents (nil:
    /// the latest published): waiting readers, and readers from now on, get them at once.
    public func close(state: Data? = nil, metrics: Data? = nil) {
        let waiters = shared.withLock { shared in
            shared.closed = true
            if let state { shared.state.body = state }
            if let metrics { shared.metrics.body = metrics }
            defer { shared.waiters = [:] }
            return Array(shared.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    private func current(_ document: Document) async -> Data {
        // The changes noted before this call: the document must include them.
        let request: (id: UInt64, changes: Int)? = shared.withLock { shared in
            guard !shared.closed, shared[document].changes < shared.changes else { return nil }
            shared[document].wanted = true
            shared.nextWaiterID += 1
            return (shared.nextWaiterID, shared.changes)
        }
        if let request {
            await withCheckedContinuation { continuation in
                let registered = shared.withLock { shared in
                    guard !shared.closed, shared[document].changes < request.changes else { return false }
                    shared.waiters[request.id] = Waiter(document: document, changes: request.changes,
                                                        continuation: continuation)
                    return true
                }
                guard registered else { return continuation.resume() }
                let maximumWait = maximumWait
                Task { [weak self] in
                    try? await Task.sleep(for: maximumWait)
                    self?.expire(request.id)
                }
            }
        }
        return shared.withLock { $0[document].body }
    }

    private func expire(_ id: UInt64) {
        let waiter = shared.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume()
    }
}
