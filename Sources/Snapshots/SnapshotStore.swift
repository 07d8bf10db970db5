import Foundation
import Synchronization

/// A daemon's `/state` document, its summary, its task listing and its `/metrics` text,
/// built on demand.
///
/// The daemon (master or agent) notes each change of its state here. A reader that
/// finds the published document older than the changes noted so far asks for a new one
/// and waits until the daemon has published one that includes those changes (or
/// `maximumWait` has passed, or the daemon stopped: then it gets the latest there is).
/// The daemon looks for a capture to make with `claimCapture()` on its own schedule.
/// Nothing is built while nobody reads, only the documents readers wait for are built
/// (a `/metrics` read never builds the large `/state`), and one capture at a time is in
/// flight however many readers wait.
public final class SnapshotStore: Sendable {
    /// What one capture builds: the documents readers wait for, as of `changes` changes.
    public struct Capture: Sendable, Equatable {
        public let changes: Int
        public let includesState: Bool
        /// The state without its task lists (`/state-summary`; only the master serves it).
        public let includesSummary: Bool
        /// The tasks as a `JSONListing` (`/tasks`; only the master serves it).
        public let includesTasks: Bool
        public let includesMetrics: Bool
    }

    private enum Document: CaseIterable {
        case state, summary, tasks, metrics
    }

    private enum Body {
        case data(Data)
        case listing(JSONListing)

        var data: Data {
            if case .data(let data) = self { return data }
            return Data()
        }

        var listing: JSONListing {
            if case .listing(let listing) = self { return listing }
            return .empty
        }
    }

    private struct Published {
        var body: Body
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
        var state = Published(body: .data(Data("{}".utf8)))
        var summary = Published(body: .data(Data("{}".utf8)))
        var tasks = Published(body: .listing(.empty))
        var metrics = Published(body: .data(Data()))
        var changes = 1
        var capturing = false
        var closed = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]

        subscript(document: Document) -> Published {
            get {
                switch document {
                case .state: state
                case .summary: summary
                case .tasks: tasks
                case .metrics: metrics
                }
            }
            set {
                switch document {
                case .state: state = newValue
                case .summary: summary = newValue
                case .tasks: tasks = newValue
                case .metrics: metrics = newValue
                }
            }
        }
    }

    private let shared = Mutex(Shared())
    private let maximumWait: Duration

    public init(maximumWait: Duration = .seconds(10)) {
        self.maximumWait = maximumWait
    }

    /// The `/state` document (JSON), including every change noted before the call.
    public func state() async -> Data {
        await current(.state).data
    }

    /// The state without its task lists, including every change noted before the call.
    public func summary() async -> Data {
        await current(.summary).data
    }

    /// The tasks, including every change noted before the call.
    public func tasks() async -> JSONListing {
        await current(.tasks).listing
    }

    /// The `/metrics` text (Prometheus), including every change noted before the call.
    public func metrics() async -> String {
        String(decoding: await current(.metrics).data, as: UTF8.self)
    }

    /// Readers waiting for a capture.
    public var waiterCount: Int {
        shared.withLock { $0.waiters.count }
    }

    /// The daemon's state changed: readers from now on wait for a document that includes it.
    public func noteChange() {
        shared.withLock { $0.changes &+= 1 }
    }

    /// When a reader waits, no capture is in flight and the store is open: claims the
    /// capture of the documents wanted, as of the changes noted so far.
    public func claimCapture() -> Capture? {
        shared.withLock { shared in
            guard !shared.closed, Document.allCases.contains(where: { shared[$0].wanted }), !shared.capturing else { return nil }
            let capture = Capture(changes: shared.changes, includesState: shared.state.wanted,
                                  includesSummary: shared.summary.wanted, includesTasks: shared.tasks.wanted,
                                  includesMetrics: shared.metrics.wanted)
            for document in Document.allCases { shared[document].wanted = false }
            shared.capturing = true
            return capture
        }
    }

    /// Publishes what `capture` built (nil: not asked for) and wakes the readers it satisfies.
    public func publish(_ capture: Capture, state: Data?, summary: Data? = nil, tasks: JSONListing? = nil,
                        metrics: Data?) {
        let ready = shared.withLock { shared in
            let bodies: [(Document, Body?)] = [
                (.state, state.map(Body.data)), (.summary, summary.map(Body.data)),
                (.tasks, tasks.map(Body.listing)), (.metrics, metrics.map(Body.data)),
            ]
            for (document, body) in bodies {
                guard let body else { continue }
                shared[document] = Published(body: body, changes: max(shared[document].changes, capture.changes))
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
            if let state { shared.state.body = .data(state) }
            if let metrics { shared.metrics.body = .data(metrics) }
            defer { shared.waiters = [:] }
            return Array(shared.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    private func current(_ document: Document) async -> Body {
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
