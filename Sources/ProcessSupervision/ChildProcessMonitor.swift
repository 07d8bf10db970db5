import Dispatch
import Foundation
import Glibc
import Synchronization

/// Reaps the child processes this process started and tells waiters how they ended.
///
/// One background thread looks at terminated children with
/// `waitid(P_ALL, …, WEXITED | WNOWAIT | WNOHANG)`, which does not reap them. If the
/// child was registered here (started by ``spawn(_:)``, passed to ``register(_:)`` or
/// awaited), it is reaped with `waitpid(pid)` and its waiters resume; results that
/// arrive before anyone waits are kept. Children not registered here are never
/// reaped, so code that owns its own children (Foundation `Process`, for one) keeps
/// working. When nothing has terminated, or a foreign zombie hides the children behind
/// it, the thread polls the registered pids with `WNOHANG` and sleeps 1 ms growing to
/// 50 ms, so an exit is noticed within 50 ms even if the wait itself never reports it
/// (a blocking wait could stall for as long as some other child lived). Without any
/// children the thread sleeps until the next registration.
///
/// Use the single ``shared`` instance. Nothing else in the process may reap with
/// `waitpid(-1)` or set `SIGCHLD` to `SIG_IGN`; a registered child that is reaped
/// elsewhere anyway is reported as ``ExitStatus/unknown``.
public final class ChildProcessMonitor: Sendable {
    /// The process-wide monitor.
    public static let shared = ChildProcessMonitor()

    /// Exit statuses kept for pids nobody has awaited yet (or may await again).
    static let retainedResults = 1_024

    private struct State {
        var threadStarted = false
        /// The thread found no children and waits for `childAppeared`.
        var threadIdle = false
        /// Children not yet reaped, which this monitor owns.
        var registered: Set<pid_t> = []
        var results: [pid_t: ExitStatus] = [:]
        var resultOrder: [pid_t] = []
        var waiters: [pid_t: [UInt64: CheckedContinuation<ExitStatus?, Never>]] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Signalled when a child is registered while the thread waits for one.
    private let childAppeared = DispatchSemaphore(value: 0)

    init() {}

    // MARK: - Registering children

    /// Starts `spec` (see ``ProcessSpawner/spawn(_:)``) and registers the child atomically,
    /// so its exit is never missed. Returns the pid, which is also the process group id.
    public func spawn(_ spec: SpawnSpec) throws(SpawnError) -> pid_t {
        let (pid, resumes) = try state.withLock { (state: inout State) throws(SpawnError) -> (pid_t, [Resume]) in
            let pid = try ProcessSpawner.spawn(spec)
            return (pid, register(pid, in: &state))
        }
        run(resumes)
        return pid
    }

    /// Makes this monitor responsible for reaping `pid`, a child of this process.
    ///
    /// A pid that is not a child of this process (and was not reaped here) resolves as
    /// ``ExitStatus/unknown``. Registering is needed only for children started without
    /// ``spawn(_:)`` whose exit nobody awaits yet; ``waitForExit(_:)`` registers too.
    public func register(_ pid: pid_t) {
        run(state.withLock { register(pid, in: &$0) })
    }

    // MARK: - Waiting

    /// Waits until `pid` has exited and returns how it ended; registers `pid` if needed.
    ///
    /// Not cancellable: it returns only when the process has ended. Every waiter of a pid
    /// gets the same status, also when it asks after the exit.
    public func waitForExit(_ pid: pid_t) async -> ExitStatus {
        await withCheckedContinuation { continuation in
            run(state.withLock { state in
                addWaiter(pid, continuation, in: &state)
            })
        } ?? .unknown
    }

    /// Waits up to `timeout` for `pid` to exit; `nil` when it is still running then or
    /// when the calling task is cancelled.
    public func waitForExit(_ pid: pid_t, timeout: Duration) async -> ExitStatus? {
        await withTaskGroup(of: ExitStatus?.self) { group in
            group.addTask { await self.cancellableWait(pid) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The status of `pid` if it has already exited, without waiting.
    public func exitStatus(of pid: pid_t) -> ExitStatus? {
        state.withLock { $0.results[pid] }
    }

    private func cancellableWait(_ pid: pid_t) async -> ExitStatus? {
        let token = state.withLock { state in
            state.nextToken += 1
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ExitStatus?, Never>) in
                run(state.withLock { state -> [Resume] in
                    // Cancellation sets the flag before running the handler, and the
                    // handler takes this lock, so one of the two always sees the other.
                    if Task.isCancelled { return [Resume(continuation: continuation, status: nil)] }
                    return addWaiter(pid, continuation, token: token, in: &state)
                })
            }
        } onCancel: {
            run(state.withLock { state -> [Resume] in
                guard let continuation = state.waiters[pid]?.removeValue(forKey: token) else { return [] }
                if state.waiters[pid]?.isEmpty == true { state.waiters[pid] = nil }
                return [Resume(continuation: continuation, status: nil)]
            })
        }
    }

    // MARK: - State changes (called with the lock held)

    /// A continuation to resume once the lock is released.
    private struct Resume {
        let continuation: CheckedContinuation<ExitStatus?, Never>
        let status: ExitStatus?
    }

    private func run(_ resumes: [Resume]) {
        for resume in resumes { resume.continuation.resume(returning: resume.status) }
    }

    private func register(_ pid: pid_t, in state: inout State) -> [Resume] {
        guard !state.registered.contains(pid) else { return [] }
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == -1, errno == ECHILD {
            // Not a child (any more): keep the status if we reaped it, else it is lost.
            return state.results[pid] != nil ? [] : finish(pid, .unknown, in: &state)
        }
        // A new child with a pid seen before: the old result belongs to a dead process.
        if state.results.removeValue(forKey: pid) != nil {
            state.resultOrder.removeAll { $0 == pid }
        }
        state.registered.insert(pid)
        startThreadIfNeeded(&state)
        if state.threadIdle {
            state.threadIdle = false
            childAppeared.signal()
        }
        // It may already have exited (and been passed over as foreign by the thread).
        return poll(pid, in: &state)
    }

    private func addWaiter(
        _ pid: pid_t, _ continuation: CheckedContinuation<ExitStatus?, Never>,
        token: UInt64? = nil, in state: inout State
    ) -> [Resume] {
        if let status = state.results[pid] {
            return [Resume(continuation: continuation, status: status)]
        }
        let token = token ?? {
            state.nextToken += 1
            return state.nextToken
        }()
        state.waiters[pid, default: [:]][token] = continuation
        if !state.registered.contains(pid) {
            return register(pid, in: &state)
        }
        return []
    }

    /// Reaps `pid` if it has terminated (`WNOHANG`); resolves it as unknown when it is not
    /// (or no longer) our child.
    private func poll(_ pid: pid_t, in state: inout State) -> [Resume] {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid { return finish(pid, ExitStatus(waitStatus: status), in: &state) }
        if rc == -1, errno == ECHILD { return finish(pid, .unknown, in: &state) }
        return []
    }

    private func pollAll(in state: inout State) -> [Resume] {
        let pids = state.registered
        return pids.flatMap { poll($0, in: &state) }
    }

    private func finish(_ pid: pid_t, _ status: ExitStatus, in state: inout State) -> [Resume] {
        state.registered.remove(pid)
        state.results[pid] = status
        state.resultOrder.append(pid)
        if state.resultOrder.count > Self.retainedResults {
            let evicted = state.resultOrder.removeFirst()
            state.results[evicted] = nil
        }
        let waiting = state.waiters.removeValue(forKey: pid) ?? [:]
        return waiting.values.map { Resume(continuation: $0, status: status) }
    }

    // MARK: - The reaper thread

    private func startThreadIfNeeded(_ state: inout State) {
        guard !state.threadStarted else { return }
        state.threadStarted = true
        let thread = Thread { [self] in reapForever() }
        thread.name = "agora-child-reaper"
        thread.start()
    }

    private func reapForever() {
        var backoff: useconds_t = 1_000
        while true {
            var info = siginfo_t()
            info._sifields._sigchld.si_pid = 0
            if waitid(P_ALL, 0, &info, WEXITED | WNOWAIT | WNOHANG) == -1 {
                switch errno {
                case EINTR:
                    continue
                case ECHILD:
                    // No children at all: registered pids were reaped elsewhere.
                    let (idle, resumes) = state.withLock { state in
                        let lost = pollAll(in: &state)
                        // A child registered since `waitid` returned is waited for at once.
                        state.threadIdle = state.registered.isEmpty
                        return (state.threadIdle, lost)
                    }
                    run(resumes)
                    if idle { childAppeared.wait() }
                default:
                    usleep(100_000)
                }
                continue
            }
            let pid = info._sifields._sigchld.si_pid
            let (owned, resumes) = state.withLock { state -> (Bool, [Resume]) in
                guard pid != 0, state.registered.contains(pid) else { return (false, []) }
                var status: Int32 = 0
                let rc = waitpid(pid, &status, 0)
                let exit = rc == pid ? ExitStatus(waitStatus: status) : .unknown
                return (true, finish(pid, exit, in: &state))
            }
            run(resumes)
            if owned {
                backoff = 1_000
                continue
            }
            // Nothing terminated yet, or a child someone else owns hides the ones behind it.
            run(state.withLock { pollAll(in: &$0) })
            usleep(backoff)
            backoff = min(backoff * 2, 50_000)
        }
    }
}
