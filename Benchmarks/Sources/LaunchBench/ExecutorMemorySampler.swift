import Foundation
import LaunchBenchCore
import Synchronization

/// Samples the VmRSS of every `agora-executor` process that one cluster's agents
/// started, on its own thread, until `stop()`. Each pass reads one small file per
/// process on the host (`/proc/PID/stat`), and more only for the agents' children.
final class ExecutorMemorySampler: Sendable {
    private let workDirectory: String
    private let interval: Duration
    private struct State {
        var tally = ExecutorMemoryTally()
        var stopping = false
        var stopped = false
        var cpuSeconds = 0.0
    }

    private let state = Mutex(State())

    init(workDirectory: String, interval: Duration = .milliseconds(100)) {
        self.workDirectory = workDirectory.hasSuffix("/") ? workDirectory : workDirectory + "/"
        self.interval = interval
    }

    /// Starts sampling on a new thread (reading /proc blocks; it stays off the
    /// concurrency pool that the scheduler runs on).
    func start() {
        let pause = useconds_t(interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)
        Thread { [self] in
            let agents = Set(ProcReader.pids().filter {
                ProcFiles.clusterRole(ProcReader.arguments(of: $0), workDirectory: workDirectory) == "agent"
            })
            while !state.withLock({ $0.stopping }) {
                sampleOnce(agents: agents)
                usleep(pause)
            }
            var cpu = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu)
            state.withLock { state in
                state.cpuSeconds = Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9
                state.stopped = true
            }
        }.start()
    }

    /// Stops sampling and returns what was seen, and the CPU seconds the sampling took
    /// (to be kept apart from the framework's).
    func stop() async -> (tally: ExecutorMemoryTally, cpuSeconds: Double) {
        state.withLock { $0.stopping = true }
        while !state.withLock({ $0.stopped }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.withLock { ($0.tally, $0.cpuSeconds) }
    }

    private func sampleOnce(agents: Set<Int32>) {
        var seen: [(pid: Int32, kilobytes: Int)] = []
        for pid in ProcReader.pids() {
            guard let parent = ProcFiles.parentPID(stat: String(decoding: ProcReader.read("/proc/\(pid)/stat"), as: UTF8.self)),
                  agents.contains(parent),
                  // Not a child between fork and exec, still running the agent's image.
                  ProcFiles.isAgoraExecutor(ProcReader.arguments(of: pid)),
                  let kilobytes = ProcFiles.residentKilobytes(status: String(decoding: ProcReader.read("/proc/\(pid)/status"), as: UTF8.self))
            else { continue }
            seen.append((pid, kilobytes))
        }
        state.withLock { state in
            for process in seen { state.tally.record(pid: process.pid, kilobytes: process.kilobytes) }
            state.tally.finishSample()
        }
    }
}
