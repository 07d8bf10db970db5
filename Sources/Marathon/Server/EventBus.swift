import Foundation
import Synchronization

/// Fans Marathon events out to `/v2/events` subscribers. Each subscriber has its own
/// bounded buffer: a client too slow to keep up loses its oldest events, never
/// blocks the scheduler.
public final class EventBus: Sendable {
    /// One event as sent on the stream: its Marathon type and its one-line JSON.
    public struct Frame: Sendable {
        public let type: String
        public let json: String
    }

    private struct Subscriber {
        let types: Set<String>
        let continuation: AsyncStream<Frame>.Continuation
    }

    private let state = Mutex(State())

    private struct State {
        var next = 0
        var subscribers: [Int: Subscriber] = [:]
    }

    public init() {}

    /// A stream of the events whose type is in `types` (all when empty).
    public func subscribe(types: Set<String>) -> AsyncStream<Frame> {
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self, bufferingPolicy: .bufferingNewest(1_000))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = Subscriber(types: types, continuation: continuation)
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream (at shutdown, so that the HTTP server does not wait for them).
    public func closeAll() {
        let continuations = state.withLock { state in
            defer { state.subscribers = [:] }
            return state.subscribers.values.map(\.continuation)
        }
        for continuation in continuations { continuation.finish() }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public func publish(_ frame: Frame) {
        let targets = state.withLock { state in
            state.subscribers.values.filter { $0.types.isEmpty || $0.types.contains(frame.type) }.map(\.continuation)
        }
        for continuation in targets { continuation.yield(frame) }
    }
}
