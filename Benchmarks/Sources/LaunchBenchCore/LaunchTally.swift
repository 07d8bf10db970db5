/// What one task's status update said, as far as the launch benchmark cares.
public enum TaskProgress: Equatable, Sendable {
    case running
    case finished
    /// A terminal state other than FINISHED, with the state's name and message.
    case ended(String)
    /// Any other non-terminal state (STAGING, STARTING, …).
    case other
}

/// The bookkeeping of one Agora run, free of I/O: when each task's ACCEPT was sent,
/// when its updates arrived, and what that makes the rate and the latencies.
///
/// Times are seconds on one monotonic clock. Updates are at-least-once, so a repeated
/// RUNNING or terminal update of a task is ignored.
public struct LaunchTally: Sendable {
    /// How many tasks the run launches.
    public let expected: Int
    private var sentAt: [String: Double] = [:]
    private var seenRunning: Set<String> = []
    private var ended: Set<String> = []
    private var runningLatencies: [Double] = []
    private var firstAcceptAt: Double?
    private var lastFinishedAt: Double?
    /// Tasks that ended in a state other than FINISHED, with that state and message.
    public private(set) var failures: [String: String] = [:]
    /// Tasks that reached TASK_FINISHED.
    public private(set) var finished = 0
    /// Tasks handed to an ACCEPT so far.
    public var launched: Int { sentAt.count }

    public init(expected: Int) {
        self.expected = expected
    }

    /// Every task has ended, one way or another.
    public var isComplete: Bool { ended.count >= expected }

    /// `taskIDs` left in one ACCEPT sent at `time`.
    public mutating func accepted(_ taskIDs: [String], at time: Double) {
        if firstAcceptAt == nil { firstAcceptAt = time }
        for id in taskIDs where sentAt[id] == nil { sentAt[id] = time }
    }

    /// A status update of `taskID` arrived at `time`.
    public mutating func statusArrived(taskID: String, _ progress: TaskProgress, at time: Double) {
        guard let sent = sentAt[taskID], !ended.contains(taskID) else { return }
        switch progress {
        case .running:
            if seenRunning.insert(taskID).inserted { runningLatencies.append(time - sent) }
        case .finished:
            ended.insert(taskID)
            finished += 1
            lastFinishedAt = max(lastFinishedAt ?? time, time)
        case .ended(let description):
            ended.insert(taskID)
            failures[taskID] = description
        case .other:
            break
        }
    }

    /// The figures of the run so far.
    public var result: LaunchRunResult {
        let span = lastFinishedAt.flatMap { last in firstAcceptAt.map { last - $0 } }
        return LaunchRunResult(
            tasks: expected, finished: finished, failed: failures.count, seconds: span ?? 0,
            finishedPerSecond: span.map { $0 > 0 ? Double(finished) / $0 : 0 } ?? 0,
            runningLatencyP50: Statistics.quantile(runningLatencies, 0.5) ?? 0,
            runningLatencyP99: Statistics.quantile(runningLatencies, 0.99) ?? 0)
    }
}

/// The figures of one Agora run.
public struct LaunchRunResult: Equatable, Sendable {
    public var tasks: Int
    public var finished: Int
    public var failed: Int
    /// From the first ACCEPT sent to the last TASK_FINISHED received.
    public var seconds: Double
    /// `finished / seconds`.
    public var finishedPerSecond: Double
    /// ACCEPT sent → TASK_RUNNING received, seconds.
    public var runningLatencyP50: Double
    public var runningLatencyP99: Double

    public init(tasks: Int, finished: Int, failed: Int, seconds: Double, finishedPerSecond: Double,
                runningLatencyP50: Double, runningLatencyP99: Double) {
        self.tasks = tasks
        self.finished = finished
        self.failed = failed
        self.seconds = seconds
        self.finishedPerSecond = finishedPerSecond
        self.runningLatencyP50 = runningLatencyP50
        self.runningLatencyP99 = runningLatencyP99
    }
}
