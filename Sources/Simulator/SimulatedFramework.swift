import AgoraProto
import Framework
import Logging
import Synchronization

/// The simulation's built-in framework: launches `tasksPerAgent` tasks on every agent
/// through the ordinary SDK, then declines whatever else it is offered with a filter,
/// so allocation keeps running. Reports subscriptions, offers and running tasks.
final class SimulatedFramework: Scheduler {
    private let planner: Mutex<LaunchPlanner>
    private let refuseSeconds: Double
    private let board: ProgressBoard
    private let logger: Logger

    init(planner: LaunchPlanner, refuseSeconds: Double, board: ProgressBoard, logger: Logger) {
        self.planner = Mutex(planner)
        self.refuseSeconds = refuseSeconds
        self.board = board
        self.logger = logger
    }

    func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {
        logger.info("framework subscribed", metadata: ["framework_id": "\(frameworkID)", "master_id": "\(masterInfo.id)"])
        board.record { $0.frameworkSubscribed(frameworkID: frameworkID, masterID: masterInfo.id, at: $1) }
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        board.record { progress, now in progress.offersReceived(at: now) }
        var declined: [String] = []
        let filters = Agora_V1_Filters.refuse(seconds: refuseSeconds)
        for offer in offers {
            let tasks = planner.withLock { $0.tasks(for: offer) }
            guard !tasks.isEmpty else {
                declined.append(offer.id.value)
                continue
            }
            do {
                try await driver.launch(offerIDs: [offer.id.value], tasks: tasks, filters: filters)
            } catch {
                logger.warning("could not launch", metadata: ["offer_id": "\(offer.id.value)", "error": "\(error)"])
            }
        }
        guard !declined.isEmpty else { return }
        do {
            try await driver.decline(offerIDs: declined, filters: filters)
        } catch {
            logger.warning("could not decline \(declined.count) offer(s)", metadata: ["error": "\(error)"])
        }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        switch status.state {
        case .taskRunning:
            board.record { $0.taskRunning(status.taskID.value, at: $1) }
        case .taskStaging, .taskStarting, .taskKilling:
            break
        default:
            logger.warning("simulated task ended", metadata: ["task_id": "\(status.taskID.value)",
                                                              "state": "\(status.state)", "message": "\(status.message)"])
        }
    }

    func error(_ driver: SchedulerDriver, message: String) async {
        logger.warning("the master reported an error", metadata: ["message": "\(message)"])
    }
}
