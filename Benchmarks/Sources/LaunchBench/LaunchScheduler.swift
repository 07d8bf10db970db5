import AgoraProto
import Framework
import LaunchBenchCore
import Resources

/// A framework that launches `count` copies of one command as fast as offers allow,
/// packing as many as fit into each offer, and keeps the tally of when each ACCEPT
/// left and each status update came back.
actor LaunchScheduler: Scheduler {
    private let count: Int
    private let executable: String
    private let resources: Resources
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var nextTask = 0
    private var suppressed = false
    private var tally: LaunchTally
    private var completion: CheckedContinuation<Void, Never>?
    /// Errors the master or the driver reported; printed with the result.
    private(set) var problems: [String] = []
    /// Offers received, ACCEPTs sent, status updates received (duplicates included).
    private(set) var offersReceived = 0
    private(set) var acceptsSent = 0
    private(set) var updatesReceived = 0

    init(count: Int, executable: String, resources: Resources) {
        self.count = count
        self.executable = executable
        self.resources = resources
        self.tally = LaunchTally(expected: count)
        self.origin = clock.now
    }

    var result: LaunchRunResult { tally.result }
    var failures: [String: String] { tally.failures }

    /// Returns once every task has ended, or after `abandon()`.
    func waitUntilComplete() async {
        if tally.isComplete { return }
        await withCheckedContinuation { completion = $0 }
    }

    /// Lets `waitUntilComplete` return although tasks are still out (the run timed out).
    func abandon() {
        completion?.resume()
        completion = nil
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        offersReceived += offers.count
        for offer in offers {
            guard var available = try? OfferResources(offer) else {
                problems.append("offer \(offer.id.value) carries resources that do not parse; declined")
                try? await driver.decline(offerIDs: [offer.id.value])
                continue
            }
            var tasks: [Agora_V1_TaskInfo] = []
            while nextTask < count, available.take(resources) {
                tasks.append(.command(id: "launch-\(nextTask)", name: "launch-bench", executable: executable, arguments: [],
                                      resources: resources, agentID: available.agentID))
                nextTask += 1
            }
            guard !tasks.isEmpty else {
                // Too small, or nothing left to launch. The filter only blocks offers the
                // declined resources contain, so freed cpus are offered again at once.
                try? await driver.decline(offerIDs: [offer.id.value], filters: .refuse(seconds: 3600))
                continue
            }
            tally.accepted(tasks.map(\.taskID.value), at: secondsSinceStart)
            do {
                try await driver.launch(offerIDs: [offer.id.value], tasks: tasks)
                acceptsSent += 1
            } catch {
                problems.append("cannot launch \(tasks.count) task(s): \(error)")
            }
        }
        if nextTask == count, !suppressed {
            suppressed = true
            try? await driver.suppress()
        }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        updatesReceived += 1
        let progress: TaskProgress = switch status.state {
        case .taskRunning: .running
        case .taskFinished: .finished
        default: status.state.isTerminal ? .ended("\(status.state.name) \(status.message)") : .other
        }
        tally.statusArrived(taskID: status.taskID.value, progress, at: secondsSinceStart)
        if tally.isComplete { abandon() }
    }

    func error(_ driver: SchedulerDriver, message: String) async {
        problems.append("master error: \(message)")
    }

    private var secondsSinceStart: Double {
        let elapsed = clock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
