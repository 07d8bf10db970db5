/// A task taking part in update rounds: the agent (by index) and the task.
struct UpdateRoundTask: Hashable, Sendable {
    let agent: Int
    let key: SimulatedTaskKey
}

/// The bookkeeping of `agora simulate --update-rounds`: every task sends `rounds`
/// further `TASK_RUNNING` updates (as health-check results would), each one only after
/// the previous update of the same task was acknowledged, as a real agent's
/// status-update stream does. Pure; kept by `AgentFleet`, which sends the updates.
struct UpdateRounds: Sendable {
    /// All updates of the rounds: `rounds` × the tasks there were at the start.
    let total: Int
    /// Updates of the rounds not yet acknowledged, sent or still to send.
    private(set) var outstanding: Int
    /// Updates of the rounds acknowledged so far.
    private(set) var acknowledgedCount = 0
    /// The encoded size (bytes) of one update's envelope, once the first was sent.
    var envelopeBytes: Int?
    /// Updates each task has still to send.
    private var unsent: [UpdateRoundTask: Int]
    private var completionAnnounced = false

    init(rounds: Int, tasks: [UpdateRoundTask]) {
        self.total = rounds * tasks.count
        self.outstanding = total
        self.unsent = Dictionary(tasks.map { ($0, rounds) }, uniquingKeysWith: { first, _ in first })
    }

    /// Takes one update of `task` to send; false when it has none left.
    mutating func takeUpdate(for task: UpdateRoundTask) -> Bool {
        guard let left = unsent[task], left > 0 else { return false }
        unsent[task] = left > 1 ? left - 1 : nil
        return true
    }

    /// One update of the rounds was acknowledged.
    mutating func acknowledged() {
        outstanding = max(0, outstanding - 1)
        acknowledgedCount += 1
    }

    /// `task` ended (or its agent forgot it): the updates it has not sent never will be.
    mutating func abandon(_ task: UpdateRoundTask) {
        guard let left = unsent.removeValue(forKey: task) else { return }
        outstanding = max(0, outstanding - left)
    }

    /// True exactly once: the first time it is asked after every update was acknowledged.
    mutating func announceCompletion() -> Bool {
        guard outstanding == 0, !completionAnnounced else { return false }
        completionAnnounced = true
        return true
    }
}
