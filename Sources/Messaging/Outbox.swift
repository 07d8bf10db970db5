import Synchronization

/// An envelope serialized by the caller, waiting for the I/O thread.
struct OutgoingMessage: Sendable {
    /// The destination on a ROUTER; `nil` on a DEALER.
    var peer: PeerID?
    var payload: [UInt8]
}

/// The bounded queue from callers (many producers) to the I/O thread (one consumer).
final class Outbox: Sendable {
    private struct State {
        var queue = RingBuffer<OutgoingMessage>()
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let wakeConsumer: @Sendable () -> Void

    init(capacity: Int, wakeConsumer: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.wakeConsumer = wakeConsumer
    }

    /// Queues a message, or throws `queueFull`/`closed` at once.
    func tryPush(_ message: OutgoingMessage) throws(MessagingError) {
        switch enqueue(message) {
        case .queued: return
        case .full: throw MessagingError(.queueFull, "the outbox is full (\(capacity) messages waiting)")
        case .closed: throw MessagingError(.closed, "the endpoint has been shut down")
        }
    }

    /// Queues a message, waiting while the outbox is full.
    func push(_ message: OutgoingMessage) async throws(MessagingError) {
        while true {
            switch enqueue(message) {
            case .queued: return
            case .closed: throw MessagingError(.closed, "the endpoint has been shut down")
            case .full: await waitForSpace()
            }
        }
    }

    /// Takes every queued message (I/O thread) and releases callers waiting for room.
    func drain() -> [OutgoingMessage] {
        let (messages, waiters) = state.withLock { state in
            let waiters = state.spaceWaiters
            state.spaceWaiters = []
            return (state.queue.removeAll(), waiters)
        }
        for waiter in waiters { waiter.resume() }
        return messages
    }

    /// Refuses further messages and releases every waiting caller.
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.spaceWaiters = [] }
            return state.spaceWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private enum EnqueueResult { case queued, full, closed }

    private func enqueue(_ message: OutgoingMessage) -> EnqueueResult {
        let (result, wasEmpty): (EnqueueResult, Bool) = state.withLock { state in
            if state.closed { return (.closed, false) }
            if state.queue.count >= capacity { return (.full, false) }
            let wasEmpty = state.queue.isEmpty
            state.queue.append(message)
            return (.queued, wasEmpty)
        }
        // Only the transition from empty needs a wake-up: the I/O thread drains the
        // whole queue each time it wakes.
        if wasEmpty { wakeConsumer() }
        return result
    }

    private func waitForSpace() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mustWait = state.withLock { state in
                guard !state.closed, state.queue.count >= capacity else { return false }
                state.spaceWaiters.append(continuation)
                return true
            }
            if !mustWait { continuation.resume() }
        }
    }
}
