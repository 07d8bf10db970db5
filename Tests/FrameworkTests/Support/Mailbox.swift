/// A queue that tests await with a timeout, so a missing message fails the test
/// instead of hanging it.
actor Mailbox<Element: Sendable> {
    private var items: [Element] = []
    private var waiter: (id: Int, continuation: CheckedContinuation<Element?, Never>, timer: Task<Void, Never>)?
    private var nextWaiterID = 0

    func put(_ element: Element) {
        if let waiter {
            self.waiter = nil
            waiter.timer.cancel()
            waiter.continuation.resume(returning: element)
        } else {
            items.append(element)
        }
    }

    /// The next element, or `nil` after `timeout`. One waiter at a time.
    func next(within timeout: Duration = .seconds(10)) async -> Element? {
        if !items.isEmpty { return items.removeFirst() }
        precondition(waiter == nil, "one waiter at a time")
        nextWaiterID += 1
        let id = nextWaiterID
        return await withCheckedContinuation { continuation in
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
            waiter = (id, continuation, timer)
        }
    }

    /// The next element matching `predicate`, dropping the others; `nil` after `timeout`.
    func first(within timeout: Duration = .seconds(10), where predicate: (Element) -> Bool) async -> Element? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero, let element = await next(within: left) else { return nil }
            if predicate(element) { return element }
        }
    }

    private func expire(_ id: Int) {
        guard let waiter, waiter.id == id else { return }
        self.waiter = nil
        waiter.continuation.resume(returning: nil)
    }
}
