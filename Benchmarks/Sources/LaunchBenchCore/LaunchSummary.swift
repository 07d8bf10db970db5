import Foundation

/// CPU seconds one Agora run used, per launched task, by part of the system.
public struct LaunchCPUPerTask: Equatable, Sendable {
    public var master: Double
    /// The agent processes themselves.
    public var agents: Double
    /// The executors the agents reaped, with the tasks those executors reaped.
    public var executorsAndTasks: Double
    /// The benchmark's own process: the framework (and its /proc sampler).
    public var framework: Double

    public init(master: Double, agents: Double, executorsAndTasks: Double, framework: Double) {
        self.master = master
        self.agents = agents
        self.executorsAndTasks = executorsAndTasks
        self.framework = framework
    }

    public var total: Double { master + agents + executorsAndTasks + framework }

    /// The element-wise median of `values`; nil when empty.
    public static func median(_ values: [LaunchCPUPerTask]) -> LaunchCPUPerTask? {
        guard let master = Statistics.median(values.map(\.master)), let agents = Statistics.median(values.map(\.agents)),
              let executors = Statistics.median(values.map(\.executorsAndTasks)),
              let framework = Statistics.median(values.map(\.framework)) else { return nil }
        return LaunchCPUPerTask(master: master, agents: agents, executorsAndTasks: executors, framework: framework)
    }
}

/// One round of the launch benchmark: the raw spawn loop and the Agora run right after it.
public struct LaunchRound: Equatable, Sendable {
    /// Processes spawned and reaped per second by the raw loop.
    public var rawSpawnsPerSecond: Double
    /// The Agora run.
    public var agora: LaunchRunResult
    /// The median over executors of each executor's peak VmRSS (kB); nil if none was seen.
    public var executorRSSKilobytes: Double?
    /// Median seconds to start and reap `agora-executor` outside an agent (it exits at
    /// once): the executor binary's start-up cost; nil when not measured.
    public var executorStartSeconds: Double?
    /// Where the Agora run's CPU went; nil when not measured.
    public var cpuPerTask: LaunchCPUPerTask?

    public init(rawSpawnsPerSecond: Double, agora: LaunchRunResult, executorRSSKilobytes: Double?,
                executorStartSeconds: Double?, cpuPerTask: LaunchCPUPerTask? = nil) {
        self.rawSpawnsPerSecond = rawSpawnsPerSecond
        self.agora = agora
        self.executorRSSKilobytes = executorRSSKilobytes
        self.executorStartSeconds = executorStartSeconds
        self.cpuPerTask = cpuPerTask
    }

    /// Agora's rate over the raw loop's in this round.
    public var ratio: Double { rawSpawnsPerSecond > 0 ? agora.finishedPerSecond / rawSpawnsPerSecond : 0 }
}

/// Medians over the rounds and the verdict against the issue's targets.
public struct LaunchSummary: Equatable, Sendable {
    /// Agora must reach at least this fraction of the raw spawn rate.
    public static let targetRatio = 0.5
    /// …and at least this many launches per second: 10× Mesos' ~33/s per agent.
    public static let targetLaunchesPerSecond = 330.0

    public var rounds: Int
    public var rawSpawnsPerSecond: Double
    public var agoraFinishedPerSecond: Double
    /// The median of the per-round ratios (each round compares runs made back to back).
    public var ratio: Double
    public var runningLatencyP50: Double
    public var runningLatencyP99: Double
    public var executorRSSKilobytes: Double?
    public var executorStartSeconds: Double?
    public var cpuPerTask: LaunchCPUPerTask?
    /// Tasks that did not finish, over all rounds.
    public var failedTasks: Int

    /// Nil when there is no round.
    public init?(_ rounds: [LaunchRound]) {
        guard !rounds.isEmpty else { return nil }
        func median(_ values: [Double]) -> Double { Statistics.median(values) ?? 0 }
        self.rounds = rounds.count
        rawSpawnsPerSecond = median(rounds.map(\.rawSpawnsPerSecond))
        agoraFinishedPerSecond = median(rounds.map(\.agora.finishedPerSecond))
        ratio = median(rounds.map(\.ratio))
        runningLatencyP50 = median(rounds.map(\.agora.runningLatencyP50))
        runningLatencyP99 = median(rounds.map(\.agora.runningLatencyP99))
        executorRSSKilobytes = Statistics.median(rounds.compactMap(\.executorRSSKilobytes))
        executorStartSeconds = Statistics.median(rounds.compactMap(\.executorStartSeconds))
        cpuPerTask = LaunchCPUPerTask.median(rounds.compactMap(\.cpuPerTask))
        failedTasks = rounds.map { $0.agora.tasks - $0.agora.finished }.reduce(0, +)
    }

    public var meetsRatioTarget: Bool { ratio >= Self.targetRatio }
    public var meetsRateTarget: Bool { agoraFinishedPerSecond >= Self.targetLaunchesPerSecond }

    /// The summary as a Markdown table with the verdicts, ready for BENCHMARKS.md.
    public func markdown(tasks: Int) -> String {
        func rate(_ value: Double) -> String { String(Int(value.rounded())) }
        func millis(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
        let rss = executorRSSKilobytes.map { String(format: "%.1f MB", $0 / 1024) } ?? "not seen"
        let start = executorStartSeconds.map(millis) ?? "not measured"
        let cpu = cpuPerTask.map { cpu in
            String(format: "%.1f ms: master %.2f, agents %.2f, executors + tasks %.2f, framework %.2f",
                   cpu.total * 1000, cpu.master * 1000, cpu.agents * 1000, cpu.executorsAndTasks * 1000, cpu.framework * 1000)
        } ?? "not measured"
        return """
            | \(tasks) tasks, medians of \(rounds) round(s) | value |
            |---|---|
            | raw posix_spawn + waitpid (spawns/s) | \(rate(rawSpawnsPerSecond)) |
            | Agora, tasks finished per second | \(rate(agoraFinishedPerSecond)) |
            | Agora / raw | \(String(format: "%.1f%%", ratio * 100)) |
            | ACCEPT → TASK_RUNNING p50 | \(millis(runningLatencyP50)) |
            | ACCEPT → TASK_RUNNING p99 | \(millis(runningLatencyP99)) |
            | executor RSS (median of per-executor peaks) | \(rss) |
            | `agora-executor` start + exit, no agent (median) | \(start) |
            | CPU per task | \(cpu) |
            | tasks not finished (all rounds) | \(failedTasks) |

            target ≥ \(Int(Self.targetRatio * 100))% of raw: \(meetsRatioTarget ? "met" : "missed"); \
            target ≥ \(Int(Self.targetLaunchesPerSecond)) launches/s: \(meetsRateTarget ? "met" : "missed")
            """
    }
}
