/// Turns what the fleet and the framework observe into milestones, each reported once.
/// Pure: times come in as arguments (Unix seconds).
struct SimulationProgress: Sendable {
    let agentCount: Int
    let expectedTasks: Int
    let startedAt: Double
    private(set) var frameworkID: String?
    private(set) var firstMasterID: String?
    /// The master run the framework is subscribed with now.
    private(set) var subscribedMasterID: String?
    private var subscribedAt: Double = 0
    private var agentsRegisteredAt: [String: Double] = [:]
    private var offersAt: [String: Double] = [:]
    private var runningTaskIDs: Set<String> = []
    private var tasksRunningReported = false
    private var readyReported = false
    private var failoverReported: Set<String> = []

    init(agentCount: Int, expectedTasks: Int, startedAt: Double) {
        self.agentCount = agentCount
        self.expectedTasks = expectedTasks
        self.startedAt = startedAt
    }

    /// Tasks that have reported `TASK_RUNNING` so far.
    var runningTaskCount: Int { runningTaskIDs.count }

    mutating func allAgentsRegistered(masterID: String, isFirstMaster: Bool, at time: Double) -> [SimulationReport] {
        guard agentsRegisteredAt[masterID] == nil else { return [] }
        agentsRegisteredAt[masterID] = time
        if isFirstMaster { firstMasterID = masterID }
        var reports: [SimulationReport] = [.agentsRegistered(masterID: masterID, agents: agentCount,
                                                             afterFailover: !isFirstMaster, at: time,
                                                             secondsSinceStart: time - startedAt)]
        reports += milestonesReached()
        return reports
    }

    mutating func frameworkSubscribed(frameworkID: String, masterID: String, at time: Double) -> [SimulationReport] {
        self.frameworkID = frameworkID
        subscribedMasterID = masterID
        if subscribedAt == 0 { subscribedAt = time }
        return [.frameworkSubscribed(frameworkID: frameworkID, masterID: masterID, at: time)] + milestonesReached()
    }

    mutating func offersReceived(at time: Double) -> [SimulationReport] {
        guard let masterID = subscribedMasterID, offersAt[masterID] == nil else { return [] }
        offersAt[masterID] = time
        return [.offersFlowing(masterID: masterID, at: time)] + milestonesReached()
    }

    mutating func taskRunning(_ taskID: String, at time: Double) -> [SimulationReport] {
        guard runningTaskIDs.insert(taskID).inserted, runningTaskIDs.count == expectedTasks else { return [] }
        return milestonesReached(at: time)
    }

    private mutating func milestonesReached(at time: Double? = nil) -> [SimulationReport] {
        var reports: [SimulationReport] = []
        if !tasksRunningReported, subscribedMasterID != nil, runningTaskIDs.count >= expectedTasks, expectedTasks > 0,
           let time {
            tasksRunningReported = true
            reports.append(.tasksRunning(tasks: expectedTasks, at: time, secondsSinceSubscribed: time - subscribedAt))
        }
        if !readyReported, let firstMasterID, agentsRegisteredAt[firstMasterID] != nil, let frameworkID,
           let subscribedMasterID, runningTaskIDs.count >= expectedTasks {
            readyReported = true
            reports.append(.ready(agents: agentCount, tasks: runningTaskIDs.count, frameworkID: frameworkID,
                                  masterID: subscribedMasterID))
        }
        if let masterID = subscribedMasterID, masterID != firstMasterID, firstMasterID != nil,
           let agentsAt = agentsRegisteredAt[masterID], let offers = offersAt[masterID], !failoverReported.contains(masterID) {
            failoverReported.insert(masterID)
            reports.append(.failoverComplete(masterID: masterID, at: max(agentsAt, offers), agentsAt: agentsAt,
                                             offersAt: offers))
        }
        return reports
    }
}
