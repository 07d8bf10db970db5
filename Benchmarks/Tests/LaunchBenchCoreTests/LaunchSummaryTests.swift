import LaunchBenchCore
import Testing

@Suite struct LaunchSummaryTests {
    private func round(raw: Double, agora: Double, p50: Double = 0.05, rss: Double? = 20_480, finished: Int = 1000) -> LaunchRound {
        LaunchRound(rawSpawnsPerSecond: raw,
                    agora: LaunchRunResult(tasks: 1000, finished: finished, failed: 1000 - finished, seconds: 1000 / agora,
                                           finishedPerSecond: agora, runningLatencyP50: p50, runningLatencyP99: p50 * 4),
                    executorRSSKilobytes: rss, executorStartSeconds: 0.01)
    }

    @Test func mediansAndTheMedianOfPerRoundRatios() throws {
        let summary = try #require(LaunchSummary([
            round(raw: 1000, agora: 100, p50: 0.3), round(raw: 2000, agora: 400, p50: 0.1), round(raw: 1500, agora: 600, p50: 0.2),
        ]))
        #expect(summary.rawSpawnsPerSecond == 1500)
        #expect(summary.agoraFinishedPerSecond == 400)
        #expect(summary.ratio == 0.2)  // of 0.1, 0.2 and 0.4
        #expect(summary.runningLatencyP50 == 0.2)
        #expect(summary.meetsRateTarget)
        #expect(!summary.meetsRatioTarget)
        #expect(summary.failedTasks == 0)
    }

    @Test func verdictsAtTheTargets() throws {
        let met = try #require(LaunchSummary([round(raw: 660, agora: 330)]))
        #expect(met.meetsRatioTarget && met.meetsRateTarget)
        let missed = try #require(LaunchSummary([round(raw: 1000, agora: 329, finished: 990)]))
        #expect(!missed.meetsRatioTarget && !missed.meetsRateTarget)
        #expect(missed.failedTasks == 10)
        #expect(missed.markdown(tasks: 1000).contains("target ≥ 50% of raw: missed; target ≥ 330 launches/s: missed"))
    }

    @Test func markdownShowsTheFigures() throws {
        let summary = try #require(LaunchSummary([round(raw: 2000, agora: 500, p50: 0.0123, rss: nil)]))
        let text = summary.markdown(tasks: 1000)
        #expect(text.contains("| raw posix_spawn + waitpid (spawns/s) | 2000 |"))
        #expect(text.contains("| Agora / raw | 25.0% |"))
        #expect(text.contains("| ACCEPT → TASK_RUNNING p50 | 12.3 ms |"))
        #expect(text.contains("| executor RSS (median of per-executor peaks) | not seen |"))
    }

    @Test func cpuPerTaskIsTheMedianOfEachPart() throws {
        var rounds = [round(raw: 1000, agora: 100), round(raw: 1000, agora: 100), round(raw: 1000, agora: 100)]
        rounds[0].cpuPerTask = LaunchCPUPerTask(master: 0.001, agents: 0.010, executorsAndTasks: 0.020, framework: 0.003)
        rounds[1].cpuPerTask = LaunchCPUPerTask(master: 0.002, agents: 0.005, executorsAndTasks: 0.030, framework: 0.001)
        rounds[2].cpuPerTask = LaunchCPUPerTask(master: 0.003, agents: 0.007, executorsAndTasks: 0.025, framework: 0.002)
        let summary = try #require(LaunchSummary(rounds))
        #expect(summary.cpuPerTask == LaunchCPUPerTask(master: 0.002, agents: 0.007, executorsAndTasks: 0.025, framework: 0.002))
        #expect(summary.markdown(tasks: 1000).contains("| CPU per task | 36.0 ms: master 2.00, agents 7.00, executors + tasks 25.00, framework 2.00 |"))
    }

    @Test func noRoundsNoSummary() {
        #expect(LaunchSummary([]) == nil)
    }
}
