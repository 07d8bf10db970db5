import LaunchBenchCore
import Testing

@Suite struct LaunchTallyTests {
    @Test func rateSpansFirstAcceptToLastFinishedAndLatencyIsAcceptToRunning() {
        var tally = LaunchTally(expected: 4)
        tally.accepted(["a", "b"], at: 10)
        tally.accepted(["c", "d"], at: 10.5)
        tally.statusArrived(taskID: "a", .running, at: 10.1)
        tally.statusArrived(taskID: "b", .running, at: 10.2)
        tally.statusArrived(taskID: "c", .running, at: 10.8)
        tally.statusArrived(taskID: "d", .running, at: 10.9)
        for id in ["a", "b", "c"] { tally.statusArrived(taskID: id, .finished, at: 11) }
        #expect(!tally.isComplete)
        tally.statusArrived(taskID: "d", .finished, at: 12)
        #expect(tally.isComplete)

        let result = tally.result
        #expect(result.finished == 4)
        #expect(result.failed == 0)
        #expect(result.seconds == 2)
        #expect(result.finishedPerSecond == 2)
        // Latencies 0.1, 0.2, 0.3, 0.4 (up to rounding): nearest rank p50 is the 2nd, p99 the 4th.
        #expect(abs(result.runningLatencyP50 - 0.2) < 1e-9)
        #expect(abs(result.runningLatencyP99 - 0.4) < 1e-9)
    }

    @Test func duplicateAndUnknownUpdatesAreIgnored() {
        var tally = LaunchTally(expected: 1)
        tally.statusArrived(taskID: "x", .finished, at: 1)  // never launched
        tally.accepted(["a"], at: 2)
        tally.accepted(["a"], at: 5)  // the first send time stays
        tally.statusArrived(taskID: "a", .other, at: 2.5)
        tally.statusArrived(taskID: "a", .running, at: 3)
        tally.statusArrived(taskID: "a", .running, at: 4)
        tally.statusArrived(taskID: "a", .finished, at: 6)
        tally.statusArrived(taskID: "a", .finished, at: 7)
        let result = tally.result
        #expect(result.finished == 1)
        #expect(result.runningLatencyP50 == 1)
        #expect(result.runningLatencyP99 == 1)
        #expect(result.seconds == 4)
    }

    @Test func failuresEndTasksButDoNotCountAsFinished() {
        var tally = LaunchTally(expected: 2)
        tally.accepted(["a", "b"], at: 0)
        tally.statusArrived(taskID: "a", .ended("TASK_FAILED exit 1"), at: 1)
        tally.statusArrived(taskID: "a", .finished, at: 1.5)  // after a terminal state: ignored
        tally.statusArrived(taskID: "b", .finished, at: 2)
        #expect(tally.isComplete)
        #expect(tally.failures == ["a": "TASK_FAILED exit 1"])
        #expect(tally.result.finished == 1)
        #expect(tally.result.finishedPerSecond == 0.5)
    }

    @Test func nothingFinishedMeansNoRate() {
        var tally = LaunchTally(expected: 3)
        tally.accepted(["a"], at: 1)
        #expect(tally.launched == 1)
        #expect(tally.result.finishedPerSecond == 0)
        #expect(tally.result.seconds == 0)
    }
}
