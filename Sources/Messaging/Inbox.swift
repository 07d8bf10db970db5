import Synchronization

/// The bounded queue between an endpoint's I/O thread (single producer) and the task
/// iterating its messages (single consumer).
///
/// When it fills up the producer is told to pause reading the socket; the consumer
/// wakes it again once the queue has drained to half, so a slow consumer slows the
/// senders (through ZeroMQ's high-water marks) instead of losing messages.
final class Inbox<Element: Sendable>: Sendable {
    private struct State {
        var buffer = RingBuffer<Element>()
        var waiter: CheckedContinuation<Element?, Never>?
        var producerPaused = false
        var finished = false
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let wakeProducer: @Sendable () -> Void

    init(capacity: Int, wakeProducer: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.wakeProducer = wakeProducer
    }

    /// Adds elements in order (producer side), waking the consumer at most once.
    /// Returns `false` when the queue is now full and the producer must stop reading
    /// until woken.
    func push(contentsOf elements: [Element]) -> Bool {
        guard !elements.isEmpty else { return true }
        let (waiter, first, hasRoom): (CheckedContinuation<Element?, Never>?, Element?, Bool) = state.withLock { state in
            var rest = elements[...]
            var handOver: (CheckedContinuation<Element?, Never>, Element)?
            if let waiter = state.waiter {
                state.waiter = nil
                handOver = (waiter, rest.removeFirst())
            }
            for element in rest { state.buffer.append(element) }
            if state.buffer.count >= capacity { state.producerPaused = true }
            return (handOver?.0, handOver?.1, !state.producerPaused)
        }
        if let waiter { waiter.resume(returning: first) }
        return hasRoom
    }

    /// Whether the producer should keep its socket out of the poll set.
    var isProducerPaused: Bool {
        state.withLock { $0.producerPaused }
    }

    /// Ends the sequence once the buffered elements are consumed.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next element, waiting for one; `nil` once finished or when the waiting
    /// task is cancelled. Runs on the caller's executor, so a buffered element costs
    /// no executor hop.
    func next(isolation actor: isolated (any Actor)? = #isolation) async -> Element? {
        if let ready = takeReady() { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let ready: Element?? = state.withLock { state in
                    if let element = state.buffer.popFirst() { return .some(element) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// A buffered element (`.some(element)`), the end (`.some(nil)`), or `nil` when
    /// the caller has to wait.
    private func takeReady() -> Element?? {
        let (ready, wake): (Element??, Bool) = state.withLock { state in
            if let element = state.buffer.popFirst() {
                let wake = state.producerPaused && state.buffer.count <= capacity / 2
                if wake { state.producerPaused = false }
                return (.some(element), wake)
            }
            return (state.finished ? .some(nil) : nil, false)
        }
        if wake { wakeProducer() }
        return ready
    }
}
