import AgoraProto
import Foundation
import Messaging
import Resources

/// What the fleet asks its shell to do.
public enum FleetDirective: Sendable, Equatable {
    /// Send `envelope` to the master over connection number `connection`.
    case send(Agora_V1_Envelope, connection: Int)
    /// An envelope already encoded (an agent's unchanged re-registration, encoded once).
    case sendEncoded([UInt8], connection: Int)
    /// Every agent is now registered with the master run `masterID`. `isFirstMaster`
    /// is false when the agents had been registered with an earlier master run, i.e.
    /// this completes their re-registration after a master failover.
    case allRegistered(masterID: String, isFirstMaster: Bool)
    /// Every update of the rounds started by `startUpdateRounds` was acknowledged
    /// (`updates` of them; fewer than planned if tasks ended meanwhile).
    case updateRoundsComplete(updates: Int)
}

/// Counts of what the fleet sent and received, for reports.
public struct FleetCounters: Sendable, Equatable {
    public var registrationsSent = 0
    public var reregistrationsSent = 0
    public var statusUpdatesSent = 0
    public var statusUpdateRetries = 0
    public var refusals = 0
    /// Master messages the fleet does not act on (or that named an unknown agent).
    public var ignoredMessages = 0
}

/// Many simulated agents speaking the real master ↔ agent protocol, with no I/O.
///
/// Like `AgentCore`, every input is a method that takes the current time and returns
/// directives. Each agent registers (retrying with the agent's backoff), answers
/// pings, reports `TASK_RUNNING` for every task the master launches on it (retrying
/// until acknowledged), reports `TASK_KILLED` for kills, and re-registers with all its
/// tasks when its connection to the master comes back (after a master restart) or
/// the master refuses it. Messages are matched to agents by the agent ID (or the
/// registration token) they carry, so any number of agents can share a connection.
public struct AgentFleet: Sendable {
    /// The executor a simulated agent names for command tasks.
    static let sharedCommandExecutorID = "agora-commands-1"

    public let configuration: FleetConfiguration
    public private(set) var counters = FleetCounters()

    var agents: [SimulatedAgent]
    var indexByAgentID: [String: Int] = [:]
    /// Agents with a timer-driven action pending, and when to look at them next.
    var attention: [Int: Duration] = [:]
    var registeredByMaster: [String: Int] = [:]
    var announcedMasters: Set<String> = []
    var updateSequence: UInt64 = 0
    var directives: [FleetDirective] = []
    /// The update rounds under way, once `startUpdateRounds` was called.
    var updateRounds: UpdateRounds?
    /// Where `encodeReportsAhead` looks next.
    private var reportCursor = 0
    private let tokenPrefix: String
    private let resourcesProto: [Agora_V1_Resource]

    public init(configuration: FleetConfiguration) {
        self.configuration = configuration
        self.agents = (0..<configuration.agentCount).map { index in
            SimulatedAgent(index: index, connection: index % configuration.connectionCount,
                           backoff: configuration.registrationBackoff.lowerBound)
        }
        self.tokenPrefix = "sim-\(String(configuration.runNonce, radix: 16))-"
        self.resourcesProto = configuration.resources.proto
    }

    // MARK: - Views

    /// Agents currently registered (with any master run).
    public var registeredCount: Int { agents.count { $0.phase == .registered } }

    /// Tasks on all agents that are not terminal (counted: only tests and reports ask).
    public var activeTaskCount: Int {
        agents.reduce(0) { $0 + $1.tasks.values.count { !$0.state.isTerminal } }
    }

    /// The ID the master gave agent `index`, once it has registered.
    public func agentID(of index: Int) -> String? { agents[index].agentID }

    /// The non-terminal tasks of agent `index`, by task ID.
    public func taskIDs(of index: Int) -> [String] {
        agents[index].tasks.filter { !$0.value.state.isTerminal }.keys.map(\.taskID).sorted()
    }

    /// The indexes of the agents that use connection `connection`.
    public func agentIndexes(on connection: Int) -> StrideTo<Int> {
        stride(from: connection, to: agents.count, by: configuration.connectionCount)
    }

    // MARK: - Inputs

    /// Connection `connection` to the master is up (first time, or again after it was
    /// lost): its agents register, or re-register with their tasks, at once.
    public mutating func connected(_ connection: Int, now: Duration) -> [FleetDirective] {
        for index in agentIndexes(on: connection) where agents[index].phase != .shutDown {
            leaveRegistered(index)
            agents[index].backoff = configuration.registrationBackoff.lowerBound
            attemptRegistration(index, now: now)
        }
        return takeDirectives()
    }

    /// A message from the master arrived on connection `connection`.
    public mutating func handle(_ envelope: Agora_V1_Envelope, connection: Int, now: Duration) -> [FleetDirective] {
        switch envelope.payload {
        case .agentRegistered(let message): registered(message, now: now)
        case .agentReregistered(let message): reregistered(message, now: now)
        case .ping(let ping): pong(ping, now: now)
        case .runTask(let message): runTask(message, now: now)
        case .runTaskGroup(let message): runTaskGroup(message, now: now)
        case .killTask(let message): killTask(message, now: now)
        case .shutdownFramework(let message): shutdownFramework(message, now: now)
        case .updateFramework(let message): updateFramework(message)
        case .statusUpdateAcknowledgement(let ack): acknowledged(ack, now: now)
        case .refused(let refused): masterRefused(refused, now: now)
        case .shutdownAgent(let message): shutdownAgent(message)
        default: counters.ignoredMessages += 1
        }
        return takeDirectives()
    }

    /// Time passed: registration attempts and status-update retries that are due.
    public mutating func tick(now: Duration) -> [FleetDirective] {
        let due = attention.filter { $0.value <= now }.keys.sorted()
        for index in due {
            switch agents[index].phase {
            case .unregistered, .registering, .reregistering:
                if now >= agents[index].nextAttemptAt { attemptRegistration(index, now: now) }
            case .registered:
                retryUpdates(index, now: now)
            case .shutDown:
                attention[index] = nil
            }
        }
        return takeDirectives()
    }

    // MARK: - Registration

    private mutating func attemptRegistration(_ index: Int, now: Duration) {
        var agent = agents[index]
        agent.nextAttemptAt = now + RetryJitter.spread(agent.backoff, seed: UInt64(index))
        agent.backoff = min(agent.backoff * 2, configuration.registrationBackoff.upperBound)
        attention[index] = agent.nextAttemptAt
        guard agent.agentID == nil else {
            agent.phase = .reregistering
            counters.reregistrationsSent += 1
            agents[index] = agent
            if let report = encodedReport(of: index) {
                directives.append(.sendEncoded(report, connection: agent.connection))
            }
            return
        }
        agent.phase = .registering
        var message = Agora_V1_RegisterAgent()
        message.agentInfo = agentInfo(index)
        message.version = configuration.version
        message.bootID = configuration.bootID
        message.registrationToken = configuration.token(of: index)
        var envelope = Agora_V1_Envelope()
        envelope.registerAgent = message
        counters.registrationsSent += 1
        agents[index] = agent
        directives.append(.send(envelope, connection: agent.connection))
    }

    /// Agent `index`'s re-registration, encoded; nil before it has an ID. A real agent
    /// encodes its own report on its own CPU; ten thousand agents in one process encode
    /// each report once and re-send it while it is unchanged.
    private mutating func encodedReport(of index: Int) -> [UInt8]? {
        if let report = agents[index].encodedReport { return report }
        guard let agentID = agents[index].agentID else { return nil }
        var envelope = Agora_V1_Envelope()
        envelope.reregisterAgent = reregistration(of: agents[index], agentID: agentID)
        let report = try? envelope.serializedBytes() as [UInt8]
        agents[index].encodedReport = report
        return report
    }

    /// Encodes the reports of up to `limit` registered agents whose tasks are settled
    /// (every update acknowledged), so that a master failover finds them ready, as it
    /// finds each real agent's report ready on its own host. Call it while the fleet is
    /// quiet: a report changes whenever one of its agent's tasks does.
    public mutating func encodeReportsAhead(limit: Int) {
        var encoded = 0
        for _ in agents.indices {
            guard encoded < limit else { return }
            let index = reportCursor
            reportCursor = (reportCursor + 1) % agents.count
            let agent = agents[index]
            guard agent.phase == .registered, agent.encodedReport == nil,
                  agent.tasks.values.allSatisfy(\.pendingUpdates.isEmpty) else { continue }
            _ = encodedReport(of: index)
            encoded += 1
        }
    }

    /// What a real agent reports when it re-registers: its frameworks, executors and
    /// every task with its state and unacknowledged update.
    private func reregistration(of agent: SimulatedAgent, agentID: String) -> Agora_V1_ReregisterAgent {
        var message = Agora_V1_ReregisterAgent()
        message.agentInfo = agentInfo(agent.index)
        message.agentInfo.id.value = agentID
        message.version = configuration.version
        message.bootID = configuration.bootID
        message.frameworks = agent.frameworks.keys.sorted().compactMap { agent.frameworks[$0] }
        var executors: [String: Agora_V1_ExecutorInfo] = [:]
        for key in agent.tasks.keys.sorted() {
            let task = agent.tasks[key]!
            var proto = Agora_V1_Task()
            proto.name = task.info.name
            proto.taskID = task.info.taskID
            proto.frameworkID.value = key.frameworkID
            proto.executorID.value = task.executorID
            proto.agentID.value = agentID
            proto.state = task.state
            proto.resources = task.info.resources
            if let head = task.pendingUpdates.first {
                proto.statusUpdateState = head.status.state
                proto.statusUpdateUuid = head.status.uuid
            }
            message.tasks.append(proto)
            let executorKey = key.frameworkID + "/" + task.executorID
            if executors[executorKey] == nil {
                var executor = Agora_V1_ExecutorInfo()
                executor.type = .default
                executor.executorID.value = task.executorID
                executor.frameworkID.value = key.frameworkID
                executor.name = "simulated executor \(task.executorID)"
                executors[executorKey] = executor
            }
        }
        message.executorInfos = executors.keys.sorted().map { executors[$0]! }
        return message
    }

    private func agentInfo(_ index: Int) -> Agora_V1_AgentInfo {
        var info = Agora_V1_AgentInfo()
        info.hostname = configuration.hostname(of: index)
        info.resources = resourcesProto
        return info
    }

    private mutating func registered(_ message: Agora_V1_AgentRegistered, now: Duration) {
        guard message.registrationToken.hasPrefix(tokenPrefix),
              let index = Int(message.registrationToken.dropFirst(tokenPrefix.count)), agents.indices.contains(index),
              agents[index].phase == .registering, !message.agentID.value.isEmpty else {
            counters.ignoredMessages += 1  // a late answer to a retried registration
            return
        }
        agents[index].agentID = message.agentID.value
        indexByAgentID[message.agentID.value] = index
        enterRegistered(index, masterID: message.masterInfo.id, now: now)
    }

    private mutating func reregistered(_ message: Agora_V1_AgentReregistered, now: Duration) {
        guard let index = indexByAgentID[message.agentID.value], agents[index].phase == .reregistering else {
            counters.ignoredMessages += 1
            return
        }
        enterRegistered(index, masterID: message.masterInfo.id, now: now)
    }

    private mutating func enterRegistered(_ index: Int, masterID: String, now: Duration) {
        agents[index].phase = .registered
        agents[index].masterID = masterID
        agents[index].backoff = configuration.registrationBackoff.lowerBound
        attention[index] = nil
        resendUpdateHeads(index, now: now)
        registeredByMaster[masterID, default: 0] += 1
        if registeredByMaster[masterID] == agents.count, announcedMasters.insert(masterID).inserted {
            directives.append(.allRegistered(masterID: masterID, isFirstMaster: announcedMasters.count == 1))
        }
    }

    private mutating func leaveRegistered(_ index: Int) {
        guard agents[index].phase == .registered, let masterID = agents[index].masterID else { return }
        agents[index].phase = .reregistering
        registeredByMaster[masterID, default: 1] -= 1
    }

    private mutating func pong(_ ping: Agora_V1_Ping, now: Duration) {
        guard let index = indexByAgentID[ping.agentID.value], agents[index].phase != .shutDown else {
            counters.ignoredMessages += 1
            return
        }
        // Tasks the master expected in the last report: one this agent does not know
        // never reached it, and ends with the status the master chose (before the pong).
        for task in ping.reconcile.tasks {
            let key = SimulatedTaskKey(frameworkID: task.frameworkID.value, taskID: task.taskID.value)
            guard agents[index].tasks[key] == nil else { continue }
            let status = task.statusIfUnknown
            var info = Agora_V1_TaskInfo()
            info.taskID = task.taskID
            agents[index].tasks[key] = SimulatedTask(info: info, executorID: Self.sharedCommandExecutorID, state: .taskStaging)
            enqueueUpdate(key, agent: index, state: status.state, message: status.message, now: now)
        }
        var pong = Agora_V1_Pong()
        pong.agentID.value = ping.agentID.value
        pong.sequence = ping.sequence
        send(index) { $0.pong = pong }
        if ping.hasConnected, !ping.connected, agents[index].phase == .registered {
            // The master no longer counts the agent as registered.
            leaveRegistered(index)
            agents[index].nextAttemptAt = now
            attemptRegistration(index, now: now)
        }
    }

    private mutating func masterRefused(_ refused: Agora_V1_Refused, now: Duration) {
        counters.refusals += 1
        guard let index = indexByAgentID[refused.agentID.value], agents[index].phase == .registered else { return }
        // As a real agent: a refusal naming this agent means the master lost it (restart).
        leaveRegistered(index)
        attemptRegistration(index, now: now)
    }

    private mutating func shutdownAgent(_ message: Agora_V1_ShutdownAgent) {
        guard let index = indexByAgentID[message.agentID.value] else {
            counters.ignoredMessages += 1
            return
        }
        leaveRegistered(index)
        agents[index].phase = .shutDown
        attention[index] = nil
        agents[index].tasks = [:]
    }

    // MARK: - Tasks

    private mutating func runTask(_ message: Agora_V1_RunTask, now: Duration) {
        guard let index = registeredIndex(message.agentID.value) else { return }
        let frameworkID = message.frameworkInfo.id.value
        agents[index].frameworks[frameworkID] = message.frameworkInfo
        let task = message.task
        // A real agent runs a framework's command tasks in one shared executor (the first
        // it starts is `agora-commands-1`), and reports that one executor.
        let executorID = task.hasExecutor ? task.executor.executorID.value : Self.sharedCommandExecutorID
        startTask(task, frameworkID: frameworkID, executorID: executorID, agent: index, now: now)
    }

    private mutating func runTaskGroup(_ message: Agora_V1_RunTaskGroup, now: Duration) {
        guard let index = registeredIndex(message.agentID.value) else { return }
        let frameworkID = message.frameworkInfo.id.value
        agents[index].frameworks[frameworkID] = message.frameworkInfo
        for task in message.taskGroup.tasks {
            startTask(task, frameworkID: frameworkID, executorID: message.executorInfo.executorID.value,
                      agent: index, now: now)
        }
    }

    private mutating func startTask(_ task: Agora_V1_TaskInfo, frameworkID: String, executorID: String, agent index: Int,
                                    now: Duration) {
        let key = SimulatedTaskKey(frameworkID: frameworkID, taskID: task.taskID.value)
        guard agents[index].tasks[key] == nil else { return }  // a repeated launch
        agents[index].tasks[key] = SimulatedTask(info: task, executorID: executorID, state: .taskStaging)
        enqueueUpdate(key, agent: index, state: .taskRunning, message: "simulated task running", now: now)
    }

    private mutating func killTask(_ message: Agora_V1_KillTask, now: Duration) {
        guard let index = registeredIndex(message.agentID.value) else { return }
        let key = SimulatedTaskKey(frameworkID: message.frameworkID.value, taskID: message.taskID.value)
        guard let task = agents[index].tasks[key], !task.state.isTerminal else { return }
        enqueueUpdate(key, agent: index, state: .taskKilled, message: "simulated task killed", now: now)
    }

    private mutating func shutdownFramework(_ message: Agora_V1_ShutdownFramework, now: Duration) {
        guard let index = registeredIndex(message.agentID.value) else { return }
        for key in agents[index].tasks.keys.sorted() where key.frameworkID == message.frameworkID.value {
            guard agents[index].tasks[key]?.state.isTerminal == false else { continue }
            enqueueUpdate(key, agent: index, state: .taskKilled, message: "the framework was shut down", now: now)
        }
    }

    private mutating func updateFramework(_ message: Agora_V1_UpdateFramework) {
        guard let index = registeredIndex(message.agentID.value) else { return }
        let id = message.frameworkInfo.id.value
        if agents[index].frameworks[id] != nil { agents[index].frameworks[id] = message.frameworkInfo }
    }

    private mutating func registeredIndex(_ agentID: String) -> Int? {
        guard let index = indexByAgentID[agentID], agents[index].phase != .shutDown else {
            counters.ignoredMessages += 1
            return nil
        }
        return index
    }

    // MARK: - Status updates

    private mutating func enqueueUpdate(_ key: SimulatedTaskKey, agent index: Int, state: Agora_V1_TaskState,
                                        message: String, healthy: Bool? = nil, now: Duration) {
        guard var task = agents[index].tasks[key], let agentID = agents[index].agentID else { return }
        var status = Agora_V1_TaskStatus()
        status.taskID.value = key.taskID
        status.state = state
        status.message = message
        status.source = .executor
        if let healthy {
            status.healthy = healthy
            status.reason = .taskHealthCheckStatusUpdated
        }
        status.uuid = nextUUID()
        status.timestamp = configuration.startedAtUnixSeconds + now.seconds
        status.executorID.value = task.executorID
        status.agentID.value = agentID
        var update = Agora_V1_StatusUpdate()
        update.agentID.value = agentID
        update.frameworkID.value = key.frameworkID
        update.executorID.value = task.executorID
        update.status = status
        update.latestState = state
        task.state = state
        task.pendingUpdates.append(update)
        let isHead = task.pendingUpdates.count == 1
        if isHead {
            task.backoff = configuration.statusUpdateBackoff.lowerBound
            task.nextRetryAt = now + task.backoff
        }
        agents[index].tasks[key] = task
        if isHead, agents[index].phase == .registered {
            sendUpdate(update, agent: index)
            scheduleRetryCheck(index, at: task.nextRetryAt)
        }
    }

    private mutating func sendUpdate(_ update: Agora_V1_StatusUpdate, agent index: Int) {
        var update = update
        let key = SimulatedTaskKey(frameworkID: update.frameworkID.value, taskID: update.status.taskID.value)
        if let state = agents[index].tasks[key]?.state { update.latestState = state }
        counters.statusUpdatesSent += 1
        send(index) { $0.statusUpdate = update }
    }

    private mutating func acknowledged(_ ack: Agora_V1_StatusUpdateAcknowledgement, now: Duration) {
        guard let index = indexByAgentID[ack.agentID.value] else {
            counters.ignoredMessages += 1
            return
        }
        let key = SimulatedTaskKey(frameworkID: ack.frameworkID.value, taskID: ack.taskID.value)
        guard var task = agents[index].tasks[key], let head = task.pendingUpdates.first, head.status.uuid == ack.uuid else {
            return  // a duplicate or stale acknowledgement
        }
        task.pendingUpdates.removeFirst()
        if let next = task.pendingUpdates.first {
            task.backoff = configuration.statusUpdateBackoff.lowerBound
            task.nextRetryAt = now + task.backoff
            agents[index].tasks[key] = task
            if agents[index].phase == .registered {
                sendUpdate(next, agent: index)
                scheduleRetryCheck(index, at: task.nextRetryAt)
            }
        } else if task.state.isTerminal {
            agents[index].tasks[key] = nil  // its executor is gone too: nothing left to report
            if !agents[index].tasks.keys.contains(where: { $0.frameworkID == key.frameworkID }) {
                agents[index].frameworks[key.frameworkID] = nil
            }
        } else {
            agents[index].tasks[key] = task
        }
        if head.status.hasHealthy { updateRounds?.acknowledged() }
        continueUpdateRounds(key, agent: index, now: now)
    }

    private mutating func resendUpdateHeads(_ index: Int, now: Duration) {
        for key in agents[index].tasks.keys.sorted() {
            guard var task = agents[index].tasks[key], let head = task.pendingUpdates.first else { continue }
            task.backoff = configuration.statusUpdateBackoff.lowerBound
            task.nextRetryAt = now + task.backoff
            agents[index].tasks[key] = task
            sendUpdate(head, agent: index)
            scheduleRetryCheck(index, at: task.nextRetryAt)
        }
    }

    private mutating func retryUpdates(_ index: Int, now: Duration) {
        var nextCheck: Duration?
        for key in agents[index].tasks.keys.sorted() {
            guard var task = agents[index].tasks[key], let head = task.pendingUpdates.first else { continue }
            if now >= task.nextRetryAt {
                task.backoff = min(task.backoff * 2, configuration.statusUpdateBackoff.upperBound)
                task.nextRetryAt = now + task.backoff
                agents[index].tasks[key] = task
                counters.statusUpdateRetries += 1
                sendUpdate(head, agent: index)
            }
            nextCheck = min(nextCheck ?? task.nextRetryAt, task.nextRetryAt)
        }
        attention[index] = nextCheck
    }

    private mutating func scheduleRetryCheck(_ index: Int, at time: Duration) {
        attention[index] = min(attention[index] ?? time, time)
    }

    // MARK: - Update rounds

    /// Starts `rounds` update rounds (`agora simulate --update-rounds`): every task that
    /// is not terminal sends `rounds` further `TASK_RUNNING` updates with `healthy` set,
    /// as health-check results, each once the previous update of that task (possibly
    /// its launch update) was acknowledged. When all are acknowledged the fleet returns
    /// `updateRoundsComplete`. Starting again replaces rounds under way.
    public mutating func startUpdateRounds(_ rounds: Int, now: Duration) -> [FleetDirective] {
        var tasks: [UpdateRoundTask] = []
        for index in agents.indices where agents[index].phase != .shutDown {
            for (key, task) in agents[index].tasks.sorted(by: { $0.key < $1.key }) where !task.state.isTerminal {
                tasks.append(UpdateRoundTask(agent: index, key: key))
            }
        }
        updateRounds = UpdateRounds(rounds: max(0, rounds), tasks: tasks)
        for task in tasks { continueUpdateRounds(task.key, agent: task.agent, now: now) }
        if updateRounds?.announceCompletion() == true {  // no tasks: nothing to send
            directives.append(.updateRoundsComplete(updates: 0))
        }
        return takeDirectives()
    }

    /// The update rounds under way: all their updates, those not yet acknowledged, and
    /// the encoded size of one update envelope (0 until the first was sent).
    public var updateRoundsProgress: (total: Int, outstanding: Int, envelopeBytes: Int)? {
        updateRounds.map { ($0.total, $0.outstanding, $0.envelopeBytes ?? 0) }
    }

    /// Sends the task's next update of the rounds if its stream is idle, or gives up its
    /// remaining ones if it ended; reports completion once every update is acknowledged.
    private mutating func continueUpdateRounds(_ key: SimulatedTaskKey, agent index: Int, now: Duration) {
        guard updateRounds != nil else { return }
        let roundTask = UpdateRoundTask(agent: index, key: key)
        if let task = agents[index].tasks[key], !task.state.isTerminal, agents[index].phase != .shutDown {
            if task.pendingUpdates.isEmpty, updateRounds?.takeUpdate(for: roundTask) == true {
                enqueueUpdate(key, agent: index, state: .taskRunning, message: "health check passed", healthy: true,
                              now: now)
                if updateRounds?.envelopeBytes == nil, let update = agents[index].tasks[key]?.pendingUpdates.first {
                    var envelope = Agora_V1_Envelope()
                    envelope.statusUpdate = update
                    updateRounds?.envelopeBytes = (try? envelope.serializedBytes() as [UInt8])?.count
                }
            }
        } else {
            updateRounds?.abandon(roundTask)
        }
        if updateRounds?.announceCompletion() == true, let acknowledged = updateRounds?.acknowledgedCount {
            directives.append(.updateRoundsComplete(updates: acknowledged))
        }
    }

    // MARK: - Helpers

    private mutating func takeDirectives() -> [FleetDirective] {
        defer { directives = [] }
        return directives
    }

    private mutating func send(_ index: Int, _ fill: (inout Agora_V1_Envelope) -> Void) {
        var envelope = Agora_V1_Envelope()
        fill(&envelope)
        directives.append(.send(envelope, connection: agents[index].connection))
    }

    /// A UUID unique within this simulator run: the run nonce, then a sequence number.
    private mutating func nextUUID() -> Data {
        updateSequence += 1
        var bytes = [UInt8](repeating: 0, count: 16)
        for shift in 0..<8 {
            bytes[shift] = UInt8(truncatingIfNeeded: configuration.runNonce >> (56 - 8 * shift))
            bytes[8 + shift] = UInt8(truncatingIfNeeded: updateSequence >> (56 - 8 * shift))
        }
        return Data(bytes)
    }
}
