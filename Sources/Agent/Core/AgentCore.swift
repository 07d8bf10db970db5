import AgoraProto
import Foundation
import Messaging
import Resources

/// Settings of the agent's core.
public struct AgentConfiguration: Sendable {
    public var agentInfo: Agora_V1_AgentInfo
    public var httpAddress: String
    public var bootID: String
    public var version: String
    /// Unix time (seconds) at the core's `now == .zero`; stamps updates.
    public var startedAtUnixSeconds: Double
    /// Retry delays for an unanswered (re-)registration, doubling, each lengthened by up
    /// to half by `RetryJitter`. The first attempt after the connection to the master
    /// comes up is immediate; messages on a live connection are not lost, so a retry is
    /// only for a master that dropped them, and an early one just adds to its backlog
    /// when thousands of agents re-register after a master failover.
    public var registrationBackoff: ClosedRange<Duration> = .seconds(2) ... .seconds(30)
    public var statusUpdateBackoff: ClosedRange<Duration> = .seconds(10) ... .seconds(600)
    /// With no ping for this long, the agent assumes the master lost it and re-registers.
    public var masterSilenceLimit: Duration = .seconds(45)
    public var executorRegistrationTimeout: Duration = .seconds(60)
    /// How long a framework's shared command executor may stay without tasks before
    /// the agent shuts it down (the next command task starts a new one).
    public var sharedExecutorIdleTimeout: Duration = .seconds(10)
    public var defaultKillGracePeriod: Duration = .seconds(3)

    public init(agentInfo: Agora_V1_AgentInfo, httpAddress: String, bootID: String, version: String,
                startedAtUnixSeconds: Double) {
        self.agentInfo = agentInfo
        self.httpAddress = httpAddress
        self.bootID = bootID
        self.version = version
        self.startedAtUnixSeconds = startedAtUnixSeconds
    }
}

/// The agent's bookkeeping and protocol logic, with no I/O: registration, task and
/// executor lifecycles, and reliable status updates. Inputs take `now`; outputs are
/// directives for the shell.
public struct AgentCore: Sendable {
    public enum Registration: Sendable, Equatable {
        case unregistered
        case registering(token: String)
        case registered
        case reregistering
    }

    public internal(set) var configuration: AgentConfiguration
    public internal(set) var agentID: String?
    public internal(set) var registration: Registration = .unregistered
    public internal(set) var frameworks: [String: Agora_V1_FrameworkInfo] = [:]
    public internal(set) var executors: [ExecutorKey: AgentExecutor] = [:]
    public internal(set) var tasks: [AgentTaskKey: AgentTask] = [:]
    /// Tasks that ended and were forgotten, oldest first (at most `completedTasksKept`),
    /// so that their files stay readable while their sandbox is kept.
    public private(set) var completedTasks: [AgentTask] = []
    /// How many forgotten tasks `completedTasks` keeps.
    public static let completedTasksKept = 1_000
    public private(set) var counters = AgentCounters()
    var streams: [AgentTaskKey: StatusUpdateStream] = [:]
    var executorsByPeer: [PeerID: ExecutorKey] = [:]
    var nextRegistrationAt: Duration = .zero
    var registrationBackoff: Duration
    var lastHeardFromMaster: Duration = .zero
    var containerCounter = 0
    var directives: [AgentDirective] = []

    public init(configuration: AgentConfiguration, agentID: String? = nil) {
        self.configuration = configuration
        self.agentID = agentID
        self.registrationBackoff = configuration.registrationBackoff.lowerBound
    }

    /// Sets the agent's HTTP base URL before it registers.
    public mutating func setHTTPAddress(_ address: String) {
        configuration.httpAddress = address
    }

    /// Tasks whose status updates still wait for an acknowledgement.
    public var unacknowledgedUpdateCount: Int { streams.values.reduce(0) { $0 + $1.pending.count } }

    // MARK: - Inputs

    /// A message from the master.
    public mutating func handleMaster(_ envelope: Agora_V1_Envelope, now: Duration) -> [AgentDirective] {
        lastHeardFromMaster = now
        switch envelope.payload {
        case .agentRegistered(let message): registered(message, now: now)
        case .agentReregistered(let message): reregistered(message, now: now)
        case .ping(let ping): pong(ping, now: now)
        case .runTask(let message): runTask(message, now: now)
        case .runTaskGroup(let message): runTaskGroup(message, now: now)
        case .killTask(let message): killTask(message, now: now)
        case .statusUpdateAcknowledgement(let ack): acknowledged(ack, now: now)
        case .frameworkToExecutorMessage(let message): forwardToExecutor(message)
        case .shutdownFramework(let message): shutdownFramework(message.frameworkID.value, now: now)
        case .updateFramework(let message): frameworks[message.frameworkInfo.id.value] = message.frameworkInfo
        case .refused(let refused): masterRefused(refused, now: now)
        case .shutdownAgent(let message):
            log("the master asked this agent to shut down: \(message.message)")
            for key in executors.keys.sorted() { destroy(key, grace: configuration.defaultKillGracePeriod) }
        default:
            counters.invalidMessages += 1
            log("ignoring an unexpected message from the master")
        }
        return takeDirectives()
    }

    /// A message from an executor over the agent's ipc socket.
    public mutating func handleExecutor(_ envelope: Agora_V1_Envelope, from peer: PeerID, now: Duration) -> [AgentDirective] {
        guard case .executorCall(let call) = envelope.payload else {
            counters.invalidMessages += 1
            return takeDirectives()
        }
        let key = ExecutorKey(frameworkID: call.frameworkID.value, executorID: call.executorID.value)
        switch call.type {
        case .subscribe: executorSubscribed(key, call.subscribe, peer: peer, now: now)
        case .update: executorUpdate(key, call.update.status, peer: peer, now: now)
        case .message:
            guard let agentID else { break }
            var message = Agora_V1_ExecutorToFrameworkMessage()
            message.agentID.value = agentID
            message.frameworkID.value = key.frameworkID
            message.executorID.value = key.executorID
            message.data = call.message.data
            sendToMaster { $0.executorToFrameworkMessage = message }
        case .heartbeat: break
        default:
            counters.invalidMessages += 1
            sendExecutorError(peer, "unsupported executor call \(call.type)")
        }
        return takeDirectives()
    }

    /// The executor's process ended (`description` like "exited with status 3").
    /// `memoryLimitReached` says the container's memory limit killed it.
    public mutating func executorExited(_ key: ExecutorKey, containerID: String, status: Int32, description: String,
                                        memoryLimitReached: Bool, now: Duration) -> [AgentDirective] {
        guard let executor = executors[key], executor.containerID == containerID else { return takeDirectives() }
        counters.executorsExited += 1
        noteContainer(of: executor)
        for taskID in executor.tasks.sorted() {
            let taskKey = AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID)
            guard let task = tasks[taskKey], !task.state.isTerminal else { continue }
            if memoryLimitReached, task.containerID == nil {
                generateUpdate(taskKey, state: .taskFailed, reason: .containerLimitationMemory,
                               message: "the container exceeded its memory limit and was killed", now: now)
            } else {
                generateUpdate(taskKey, state: executor.phase == .terminating ? .taskKilled : .taskFailed,
                               reason: .executorTerminated, message: "the executor \(description)", now: now)
            }
        }
        executors[key] = nil
        if let peer = executor.peer { executorsByPeer[peer] = nil }
        reportExecutorExit(key, tasks: executor.tasks, status: status, message: description)
        directives.append(.destroyContainer(key: key, containerID: containerID, gracePeriod: .zero))
        directives.append(.scheduleSandboxRemoval(key: key, containerID: containerID))
        forgetFinishedTasks(of: key.frameworkID)
        return takeDirectives()
    }

    /// The executor could not be started at all (bad command, sandbox error).
    public mutating func executorLaunchFailed(_ key: ExecutorKey, containerID: String, message: String,
                                              now: Duration) -> [AgentDirective] {
        guard let executor = executors[key], executor.containerID == containerID else { return takeDirectives() }
        noteContainer(of: executor)
        for taskID in executor.tasks.sorted() {
            generateUpdate(AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID), state: .taskFailed,
                           reason: .containerLaunchFailed, message: message, now: now)
        }
        executors[key] = nil
        // The master charged the executor's resources with its first task: they are free again.
        reportExecutorExit(key, tasks: executor.tasks, status: 0, message: "could not be started: \(message)")
        directives.append(.destroyContainer(key: key, containerID: containerID, gracePeriod: .zero))
        return takeDirectives()
    }

    /// Tells the master an executor ended (or never started), naming the tasks it was
    /// given: a launch that crossed this message is not among them (see `ExitedExecutor`).
    private mutating func reportExecutorExit(_ key: ExecutorKey, tasks: Set<String>, status: Int32, message: String) {
        guard let agentID else { return }
        var exited = Agora_V1_ExitedExecutor()
        exited.agentID.value = agentID
        exited.frameworkID.value = key.frameworkID
        exited.executorID.value = key.executorID
        exited.status = status
        exited.message = message
        exited.tasks = tasks.sorted().map { taskID in
            var id = Agora_V1_TaskID()
            id.value = taskID
            return id
        }
        sendToMaster { $0.exitedExecutor = exited }
    }

    /// The shell could not make the container of a task for a shared executor; the
    /// task never reached the executor.
    public mutating func taskContainerFailed(_ key: AgentTaskKey, containerID: String, message: String,
                                             now: Duration) -> [AgentDirective] {
        guard let task = tasks[key], task.containerID == containerID, !task.state.isTerminal else { return takeDirectives() }
        generateUpdate(key, state: .taskFailed, reason: .containerLaunchFailed, message: message, now: now)
        return takeDirectives()
    }

    /// The connection to the master was (re-)established.
    public mutating func masterConnected(now: Duration) -> [AgentDirective] {
        if registration == .registered { registration = .reregistering }
        nextRegistrationAt = now
        registrationBackoff = configuration.registrationBackoff.lowerBound
        attemptRegistration(now: now)
        return takeDirectives()
    }

    /// Time passed: registration attempts, update retries, executor timeouts.
    public mutating func tick(now: Duration) -> [AgentDirective] {
        if registration == .registered, now - lastHeardFromMaster > configuration.masterSilenceLimit {
            log("no word from the master for \(configuration.masterSilenceLimit); re-registering")
            registration = .reregistering
            nextRegistrationAt = now
            registrationBackoff = configuration.registrationBackoff.lowerBound
        }
        if registration != .registered, now >= nextRegistrationAt { attemptRegistration(now: now) }
        if registration == .registered { retryUpdates(now: now) }
        for key in executors.keys.sorted() {
            guard let executor = executors[key], executor.phase == .launching || executor.phase == .recovering,
                  now - executor.launchedAt > configuration.executorRegistrationTimeout else { continue }
            let recovering = executor.phase == .recovering
            log("\(key) did not \(recovering ? "reconnect" : "subscribe") within \(configuration.executorRegistrationTimeout); destroying it")
            for taskID in executor.tasks.sorted() {
                let taskKey = AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID)
                guard tasks[taskKey]?.state.isTerminal == false else { continue }
                generateUpdate(taskKey, state: recovering ? .taskLost : .taskFailed,
                               reason: recovering ? .executorReregistrationTimeout : .executorRegistrationTimeout,
                               message: recovering ? "the executor did not reconnect after the agent restarted"
                                   : "the executor did not register in time", now: now)
            }
            destroy(key, grace: .zero)
        }
        shutDownIdleSharedExecutors(now: now)
        return takeDirectives()
    }

    /// A shared executor with nothing to run for `sharedExecutorIdleTimeout` is shut down.
    private mutating func shutDownIdleSharedExecutors(now: Duration) {
        for key in executors.keys.sorted() {
            guard var executor = executors[key], executor.isShared, executor.phase == .running else { continue }
            let busy = executor.tasks.contains { taskID in
                tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID)]?.state.isTerminal == false
            }
            if busy {
                executor.idleSince = nil
            } else if let since = executor.idleSince {
                guard now - since >= configuration.sharedExecutorIdleTimeout else { continue }
                log("\(key) has been idle for \(configuration.sharedExecutorIdleTimeout); shutting it down")
                if let peer = executor.peer { sendExecutorShutdown(peer, key: key) }
                destroy(key, grace: configuration.defaultKillGracePeriod)
                continue
            } else {
                executor.idleSince = now
            }
            executors[key] = executor
        }
    }

    // MARK: - Registration

    private mutating func attemptRegistration(now: Duration) {
        nextRegistrationAt = now + RetryJitter.spread(registrationBackoff,
                                                      seed: RetryJitter.seed(configuration.bootID + configuration.httpAddress))
        registrationBackoff = min(registrationBackoff * 2, configuration.registrationBackoff.upperBound)
        if let agentID {
            if registration == .unregistered { registration = .reregistering }
            var message = Agora_V1_ReregisterAgent()
            message.agentInfo = configuration.agentInfo
            message.agentInfo.id.value = agentID
            message.version = configuration.version
            message.bootID = configuration.bootID
            message.httpAddress = configuration.httpAddress
            message.frameworks = frameworks.keys.sorted().compactMap { frameworks[$0] }
            // Every executor, built-in ones included: a task group's executor holds
            // resources the master must account for again after its restart.
            message.executorInfos = executors.keys.sorted().compactMap { key in
                guard let executor = executors[key] else { return nil }
                var info = executor.info
                info.frameworkID.value = key.frameworkID
                return info
            }
            message.tasks = tasks.keys.sorted().map { protoTask(tasks[$0]!, agentID: agentID) }
            sendToMaster { $0.reregisterAgent = message }
        } else {
            // One token for all attempts, so a slow answer to an earlier attempt still counts.
            let token: String
            if case .registering(let current) = registration {
                token = current
            } else {
                // Unique per agent process and registration: two agents on one host
                // may start within the same second.
                token = UUID().uuidString
            }
            registration = .registering(token: token)
            var message = Agora_V1_RegisterAgent()
            message.agentInfo = configuration.agentInfo
            message.version = configuration.version
            message.bootID = configuration.bootID
            message.httpAddress = configuration.httpAddress
            message.registrationToken = token
            sendToMaster { $0.registerAgent = message }
        }
    }

    private mutating func registered(_ message: Agora_V1_AgentRegistered, now: Duration) {
        guard case .registering(let token) = registration, token == message.registrationToken else { return }
        agentID = message.agentID.value
        configuration.agentInfo.id.value = message.agentID.value
        registration = .registered
        directives.append(.checkpointAgentID(message.agentID.value))
        log("registered with the master as agent \(message.agentID.value)")
        adoptPingInterval(message.pingIntervalSeconds)
        resendUpdateHeads(now: now)
    }

    private mutating func reregistered(_ message: Agora_V1_AgentReregistered, now: Duration) {
        guard registration != .registered, message.agentID.value == agentID else { return }
        registration = .registered
        log("re-registered with the master as agent \(message.agentID.value)")
        adoptPingInterval(message.pingIntervalSeconds)
        resendUpdateHeads(now: now)
    }

    /// Reports the tasks the master expected in this agent's report that the agent does
    /// not know: everything the master sent before has arrived, so their launch never
    /// reached the agent (or the agent lost them). The master chose the status (see
    /// `ReconcileAgentTasks`). The master asks again until a pong answers; a task the
    /// agent already reported this way is known by then and not reported twice.
    private mutating func reconcileTasks(_ message: Agora_V1_ReconcileAgentTasks, now: Duration) {
        for task in message.tasks {
            let key = AgentTaskKey(frameworkID: task.frameworkID.value, taskID: task.taskID.value)
            guard !key.frameworkID.isEmpty, !key.taskID.isEmpty, tasks[key] == nil else { continue }
            let status = task.statusIfUnknown
            var info = Agora_V1_TaskInfo()
            info.taskID = task.taskID
            log("the master launched task \(key) here, but this agent does not know it")
            generateUpdate(key, state: status.state, reason: status.reason, message: status.message, now: now, register: info)
        }
    }

    private mutating func adoptPingInterval(_ seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        // Three missed pings in a row mean the master has stopped talking to us.
        configuration.masterSilenceLimit = .milliseconds(Int64(seconds * 3_000))
    }

    private mutating func pong(_ ping: Agora_V1_Ping, now: Duration) {
        guard let agentID, ping.agentID.value == agentID else { return }
        if ping.hasReconcile { reconcileTasks(ping.reconcile, now: now) }
        var pong = Agora_V1_Pong()
        pong.agentID.value = agentID
        pong.sequence = ping.sequence
        // The executors the master may charge here (see `Pong.executors`).
        pong.executors = executors.keys.sorted().compactMap { key in
            guard let executor = executors[key], !executor.info.resources.isEmpty else { return nil }
            var listed = Agora_V1_ExecutorInfo()
            listed.frameworkID.value = key.frameworkID
            listed.executorID.value = key.executorID
            return listed
        }
        sendToMaster { $0.pong = pong }
    }

    private mutating func masterRefused(_ refused: Agora_V1_Refused, now: Duration) {
        log("the master refused a message: \(refused.reason)")
        if refused.agentID.value == agentID || refused.reason.contains("unknown agent"), registration == .registered {
            registration = .reregistering
            nextRegistrationAt = now
        }
    }

    // MARK: - Launching

    private mutating func runTask(_ message: Agora_V1_RunTask, now: Duration) {
        guard message.agentID.value == agentID else { return }
        let task = message.task
        let frameworkID = message.frameworkInfo.id.value
        let key = AgentTaskKey(frameworkID: frameworkID, taskID: task.taskID.value)
        guard tasks[key] == nil else {
            log("ignoring a second launch of task \(key)")
            return
        }
        frameworks[frameworkID] = message.frameworkInfo
        let executorKey: ExecutorKey
        var event = Agora_V1_Executor_Event()
        event.type = .launch
        event.launch.task = task
        if task.hasExecutor {
            executorKey = ExecutorKey(frameworkID: frameworkID, executorID: task.executor.executorID.value)
            if executors[executorKey] == nil {
                var info = task.executor
                info.frameworkID.value = frameworkID
                startExecutor(executorKey, info: info, program: .custom(task.executor.command),
                              frameworkInfo: message.frameworkInfo, tasks: [task], now: now)
            }
        } else {
            // Command tasks run in their framework's shared built-in executor, each in
            // a container of its own: the executor's start is paid once, not per task.
            executorKey = sharedExecutor(of: message.frameworkInfo, now: now)
            containerCounter += 1
            event.launch.container.containerID = "\(agentID ?? "agent")-C\(containerCounter)"
        }
        addTask(task, key: key, executorKey: executorKey)
        if event.launch.hasContainer { tasks[key]?.containerID = event.launch.container.containerID }
        deliverOrQueue(event, to: executorKey, taskIDs: [task.taskID.value])
    }

    /// The framework's shared command executor on this agent, started if none runs
    /// (one being shut down does not count).
    private mutating func sharedExecutor(of frameworkInfo: Agora_V1_FrameworkInfo, now: Duration) -> ExecutorKey {
        let frameworkID = frameworkInfo.id.value
        if let running = executors.values.first(where: {
            $0.isShared && $0.key.frameworkID == frameworkID && $0.phase != .terminating
        }) {
            return running.key
        }
        var info = Agora_V1_ExecutorInfo()
        info.type = .default
        info.executorID.value = "agora-commands-\(containerCounter + 1)"
        info.frameworkID.value = frameworkID
        info.name = "command executor of framework \(frameworkID)"
        let key = ExecutorKey(frameworkID: frameworkID, executorID: info.executorID.value)
        startExecutor(key, info: info, program: .builtIn, frameworkInfo: frameworkInfo, tasks: [], now: now,
                      shared: true)
        return key
    }

    private mutating func runTaskGroup(_ message: Agora_V1_RunTaskGroup, now: Duration) {
        guard message.agentID.value == agentID else { return }
        let frameworkID = message.frameworkInfo.id.value
        frameworks[frameworkID] = message.frameworkInfo
        let executorKey = ExecutorKey(frameworkID: frameworkID, executorID: message.executorInfo.executorID.value)
        let group = message.taskGroup
        if executors[executorKey] == nil {
            var info = message.executorInfo
            info.frameworkID.value = frameworkID
            let program: ExecutorProgram = info.type == .custom && info.hasCommand ? .custom(info.command) : .builtIn
            startExecutor(executorKey, info: info, program: program, frameworkInfo: message.frameworkInfo,
                          tasks: group.tasks, now: now)
        }
        var launched: [String] = []
        for task in group.tasks {
            let key = AgentTaskKey(frameworkID: frameworkID, taskID: task.taskID.value)
            guard tasks[key] == nil else { continue }
            addTask(task, key: key, executorKey: executorKey)
            launched.append(task.taskID.value)
        }
        var event = Agora_V1_Executor_Event()
        event.type = .launchGroup
        event.launchGroup.taskGroup = group
        deliverOrQueue(event, to: executorKey, taskIDs: launched)
    }

    private mutating func addTask(_ task: Agora_V1_TaskInfo, key: AgentTaskKey, executorKey: ExecutorKey) {
        tasks[key] = AgentTask(key: key, executorID: executorKey.executorID, info: task, state: .taskStaging)
        executors[executorKey]?.tasks.insert(key.taskID)
        counters.tasksLaunched += 1
    }

    private mutating func startExecutor(_ key: ExecutorKey, info: Agora_V1_ExecutorInfo, program: ExecutorProgram,
                                        frameworkInfo: Agora_V1_FrameworkInfo, tasks: [Agora_V1_TaskInfo],
                                        now: Duration, shared: Bool = false) {
        containerCounter += 1
        let containerID = "\(agentID ?? "agent")-C\(containerCounter)"
        var resources = (try? Resources(proto: info.resources)) ?? Resources()
        var ports: [UInt64] = []
        for task in tasks {
            let taskResources = (try? Resources(proto: task.resources)) ?? Resources()
            resources += taskResources
            for range in taskResources.ports.ranges { ports.append(contentsOf: range) }
        }
        executors[key] = AgentExecutor(key: key, containerID: containerID, info: info,
                                       isBuiltIn: program == .builtIn, isShared: shared, launchedAt: now)
        counters.executorsLaunched += 1
        directives.append(.launchExecutor(ExecutorLaunch(
            key: key, containerID: containerID, program: program, executorInfo: info, frameworkInfo: frameworkInfo,
            resources: resources, ports: ports, isShared: shared)))
    }

    private mutating func deliverOrQueue(_ event: Agora_V1_Executor_Event, to key: ExecutorKey, taskIDs: [String]) {
        guard var executor = executors[key] else { return }
        if executor.phase == .running, let peer = executor.peer {
            for taskID in taskIDs { tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID)]?.launched = true }
            sendLaunch(event, to: key, peer: peer)
        } else {
            executor.queued.append(event)
            executors[key] = executor
        }
    }

    // MARK: - Executors

    private mutating func executorSubscribed(_ key: ExecutorKey, _ subscribe: Agora_V1_Executor_Call.Subscribe,
                                             peer: PeerID, now: Duration) {
        guard var executor = executors[key], executor.phase != .terminating else {
            sendExecutorShutdown(peer, key: key)
            return
        }
        if let old = executor.peer { executorsByPeer[old] = nil }
        executor.peer = peer
        executor.phase = .running
        let queued = executor.queued
        executor.queued = []
        executors[key] = executor
        executorsByPeer[peer] = key

        var event = Agora_V1_Executor_Event()
        event.type = .subscribed
        event.subscribed.executorInfo = executor.info
        event.subscribed.frameworkInfo = frameworks[key.frameworkID] ?? Agora_V1_FrameworkInfo()
        event.subscribed.agentInfo = configuration.agentInfo
        event.subscribed.containerID.value = executor.containerID
        sendToExecutor(event, peer: peer)
        for launch in queued {
            let taskIDs = launch.type == .launch ? [launch.launch.task.taskID.value]
                : launch.launchGroup.taskGroup.tasks.map(\.taskID.value)
            for taskID in taskIDs { tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID)]?.launched = true }
            sendLaunch(launch, to: key, peer: peer)
        }
    }

    /// Sends a launch event; one for a task with a container of its own goes through
    /// the shell, which makes the container first.
    private mutating func sendLaunch(_ event: Agora_V1_Executor_Event, to key: ExecutorKey, peer: PeerID) {
        guard event.type == .launch, event.launch.hasContainer else {
            sendToExecutor(event, peer: peer)
            return
        }
        directives.append(.launchTask(TaskContainerLaunch(executor: key, event: event, peer: peer)))
    }

    private mutating func executorUpdate(_ key: ExecutorKey, _ status: Agora_V1_TaskStatus, peer: PeerID, now: Duration) {
        let taskKey = AgentTaskKey(frameworkID: key.frameworkID, taskID: status.taskID.value)
        guard executors[key] != nil, let task = tasks[taskKey], task.executorID == key.executorID else {
            sendExecutorError(peer, "unknown task \(status.taskID.value) for \(key)")
            return
        }
        guard status.hasUuid, !status.uuid.isEmpty else {
            sendExecutorError(peer, "a status update needs a uuid")
            return
        }
        // The executor retries until acknowledged: a duplicate is acknowledged again,
        // never forwarded twice.
        let duplicate = task.seenUpdates.contains(status.uuid)
        if !duplicate, !task.state.isTerminal {
            tasks[taskKey]?.seenUpdates.insert(status.uuid)
            var status = status
            status.source = .executor
            status.executorID.value = key.executorID
            // The container the task runs in: its own, or its executor's.
            if let containerID = task.containerID ?? executors[key]?.containerID {
                status.containerStatus.containerID.value = containerID
            }
            if !status.hasTimestamp { status.timestamp = unixTime(now) }
            enqueueUpdate(taskKey, status: status, now: now)
        }
        var ack = Agora_V1_Executor_Event()
        ack.type = .acknowledged
        ack.acknowledged.taskID = status.taskID
        ack.acknowledged.uuid = status.uuid
        sendToExecutor(ack, peer: peer)
    }

    private mutating func killTask(_ message: Agora_V1_KillTask, now: Duration) {
        // As for launches: a kill for another agent, or one that reaches an agent still
        // waiting for its ID, is not ours to answer (nor could the answer be checkpointed).
        guard message.agentID.value == agentID else { return }
        let key = AgentTaskKey(frameworkID: message.frameworkID.value, taskID: message.taskID.value)
        guard let task = tasks[key] else {
            var unknown = Agora_V1_TaskInfo()
            unknown.taskID.value = key.taskID
            generateUpdate(key, state: .taskLost, reason: .reconciliation,
                           message: "the agent does not know this task", now: now, register: unknown)
            return
        }
        guard !task.state.isTerminal else { return }
        let executorKey = ExecutorKey(frameworkID: key.frameworkID, executorID: task.executorID)
        guard var executor = executors[executorKey] else { return }
        if !task.launched {
            // Still waiting for its executor: it never started.
            for index in executor.queued.indices where executor.queued[index].type == .launchGroup {
                executor.queued[index].launchGroup.taskGroup.tasks.removeAll { $0.taskID.value == key.taskID }
            }
            executor.queued.removeAll { event in
                (event.type == .launch && event.launch.task.taskID.value == key.taskID)
                    || (event.type == .launchGroup && event.launchGroup.taskGroup.tasks.isEmpty)
            }
            // It stays among the executor's tasks until its update is acknowledged (see
            // `forgetFinishedTasks`), so that an exit report names it while the master may
            // not know it ended (see `ExitedExecutor.tasks`).
            executors[executorKey] = executor
            generateUpdate(key, state: .taskKilled, reason: .taskKilledDuringLaunch,
                           message: "killed before it started", now: now)
            if !executor.isShared,
               executor.tasks.allSatisfy({ tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: $0)]?.state.isTerminal ?? true }) {
                destroy(executorKey, grace: .zero)
            }
            return
        }
        guard let peer = executor.peer else { return }
        var event = Agora_V1_Executor_Event()
        event.type = .kill
        event.kill.taskID.value = key.taskID
        if message.hasKillPolicy { event.kill.killPolicy = message.killPolicy }
        sendToExecutor(event, peer: peer)
    }

    private mutating func shutdownFramework(_ frameworkID: String, now: Duration) {
        log("shutting down framework \(frameworkID)")
        for key in executors.keys.sorted() where key.frameworkID == frameworkID {
            if let peer = executors[key]?.peer { sendExecutorShutdown(peer, key: key) }
            destroy(key, grace: configuration.defaultKillGracePeriod)
        }
        // The framework is gone: nobody will acknowledge its updates.
        for key in streams.keys where key.frameworkID == frameworkID { streams[key] = nil }
        for key in tasks.keys where key.frameworkID == frameworkID && tasks[key]?.state.isTerminal == false {
            tasks[key]?.state = .taskKilled
        }
        forgetFinishedTasks(of: frameworkID)
    }

    /// Stops an executor's container and the containers of its tasks that still run.
    private mutating func destroy(_ key: ExecutorKey, grace: Duration) {
        guard var executor = executors[key] else { return }
        executor.phase = .terminating
        executors[key] = executor
        directives.append(.destroyContainer(key: key, containerID: executor.containerID, gracePeriod: grace))
        for taskID in executor.tasks.sorted() {
            guard let task = tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: taskID)], !task.state.isTerminal,
                  let containerID = task.containerID else { continue }
            directives.append(.destroyContainer(key: key, containerID: containerID, gracePeriod: grace))
        }
    }

    private mutating func forwardToExecutor(_ message: Agora_V1_FrameworkToExecutorMessage) {
        let key = ExecutorKey(frameworkID: message.frameworkID.value, executorID: message.executorID.value)
        guard let peer = executors[key]?.peer else {
            log("dropping a framework message for \(key), which is not running")
            return
        }
        var event = Agora_V1_Executor_Event()
        event.type = .message
        event.message.data = message.data
        sendToExecutor(event, peer: peer)
    }

    private mutating func sendExecutorShutdown(_ peer: PeerID, key: ExecutorKey) {
        var event = Agora_V1_Executor_Event()
        event.type = .shutdown
        sendToExecutor(event, peer: peer)
    }

    private mutating func sendExecutorError(_ peer: PeerID, _ message: String) {
        counters.invalidMessages += 1
        var event = Agora_V1_Executor_Event()
        event.type = .error
        event.error.message = message
        sendToExecutor(event, peer: peer)
    }

    // MARK: - Status updates

    /// An update the agent itself produces (executor died, launch failed, …).
    mutating func generateUpdate(_ key: AgentTaskKey, state: Agora_V1_TaskState, reason: Agora_V1_TaskStatus.Reason,
                                 message: String, now: Duration, register task: Agora_V1_TaskInfo? = nil) {
        if let task, tasks[key] == nil {
            tasks[key] = AgentTask(key: key, executorID: task.taskID.value, info: task, state: .taskStaging)
        }
        guard tasks[key] != nil else { return }
        var status = Agora_V1_TaskStatus()
        status.taskID.value = key.taskID
        status.state = state
        status.reason = reason
        status.message = message
        status.source = .agent
        status.uuid = Self.uuid()
        status.timestamp = unixTime(now)
        if let executorID = tasks[key]?.executorID { status.executorID.value = executorID }
        enqueueUpdate(key, status: status, now: now)
    }

    private mutating func enqueueUpdate(_ key: AgentTaskKey, status: Agora_V1_TaskStatus, now: Duration) {
        tasks[key]?.state = status.state
        if status.state.isTerminal, let task = tasks[key], let containerID = task.containerID {
            // The ended task's container goes as an ended executor's does: whatever it left
            // running now, its sandbox after the retention period.
            let executorKey = ExecutorKey(frameworkID: key.frameworkID, executorID: task.executorID)
            directives.append(.destroyContainer(key: executorKey, containerID: containerID, gracePeriod: .zero))
            directives.append(.scheduleSandboxRemoval(key: executorKey, containerID: containerID))
        }
        var update = Agora_V1_StatusUpdate()
        update.agentID.value = agentID ?? ""
        update.frameworkID.value = key.frameworkID
        update.executorID = status.executorID
        update.status = status
        update.status.agentID.value = agentID ?? ""
        update.latestState = status.state
        directives.append(.checkpointUpdate(update))
        var stream = streams[key] ?? StatusUpdateStream()
        stream.pending.append(update)
        if stream.pending.count == 1 {
            stream.backoff = configuration.statusUpdateBackoff.lowerBound
            stream.nextRetryAt = now + stream.backoff
            streams[key] = stream
            if registration == .registered { sendUpdate(update) }
        } else {
            streams[key] = stream
        }
    }

    private mutating func sendUpdate(_ update: Agora_V1_StatusUpdate) {
        var update = update
        // The master learns the newest state even while older updates wait.
        let key = AgentTaskKey(frameworkID: update.frameworkID.value, taskID: update.status.taskID.value)
        if let state = tasks[key]?.state { update.latestState = state }
        update.agentID.value = agentID ?? ""
        update.status.agentID.value = agentID ?? ""
        counters.statusUpdatesSent += 1
        sendToMaster { $0.statusUpdate = update }
    }

    private mutating func acknowledged(_ ack: Agora_V1_StatusUpdateAcknowledgement, now: Duration) {
        let key = AgentTaskKey(frameworkID: ack.frameworkID.value, taskID: ack.taskID.value)
        guard var stream = streams[key], let head = stream.pending.first, head.status.uuid == ack.uuid else {
            return  // a duplicate or stale acknowledgement: harmless
        }
        counters.acknowledgements += 1
        stream.pending.removeFirst()
        if let next = stream.pending.first {
            stream.backoff = configuration.statusUpdateBackoff.lowerBound
            stream.nextRetryAt = now + stream.backoff
            streams[key] = stream
            sendUpdate(next)
        } else {
            streams[key] = nil
            if head.status.state.isTerminal { forgetFinishedTasks(of: key.frameworkID) }
        }
    }

    private mutating func retryUpdates(now: Duration) {
        for key in streams.keys.sorted() {
            guard var stream = streams[key], let head = stream.pending.first, now >= stream.nextRetryAt else { continue }
            stream.backoff = min(stream.backoff * 2, configuration.statusUpdateBackoff.upperBound)
            stream.nextRetryAt = now + stream.backoff
            streams[key] = stream
            counters.statusUpdateRetries += 1
            sendUpdate(head)
        }
    }

    private mutating func resendUpdateHeads(now: Duration) {
        for key in streams.keys.sorted() {
            guard var stream = streams[key], let head = stream.pending.first else { continue }
            stream.backoff = configuration.statusUpdateBackoff.lowerBound
            stream.nextRetryAt = now + stream.backoff
            streams[key] = stream
            sendUpdate(head)
        }
    }

    /// Drops terminal tasks whose updates are all acknowledged and whose executor is gone.
    private mutating func forgetFinishedTasks(of frameworkID: String) {
        for key in tasks.keys.sorted() where key.frameworkID == frameworkID {
            guard let task = tasks[key], task.state.isTerminal, streams[key] == nil else { continue }
            let executorKey = ExecutorKey(frameworkID: frameworkID, executorID: task.executorID)
            // A shared executor's task lives in a container of its own: once it has ended,
            // nothing of it waits for the executor, even one being shut down.
            if let executor = executors[executorKey],
               executor.isShared || (executor.phase != .terminating && executor.tasks.count > 1) {
                executors[executorKey]?.tasks.remove(key.taskID)
                tasks[key]?.endedContainer = .init(containerID: executor.containerID, isBuiltIn: executor.isBuiltIn)
            } else if executors[executorKey] != nil {
                continue  // the executor still runs; keep the task until it ends
            }
            if let forgotten = tasks.removeValue(forKey: key) {
                completedTasks.append(forgotten)
                if completedTasks.count > Self.completedTasksKept { completedTasks.removeFirst() }
            }
        }
    }

    /// Notes, on each of an ending executor's tasks, the container it ran in.
    private mutating func noteContainer(of executor: AgentExecutor) {
        for taskID in executor.tasks {
            tasks[AgentTaskKey(frameworkID: executor.key.frameworkID, taskID: taskID)]?.endedContainer =
                .init(containerID: executor.containerID, isBuiltIn: executor.isBuiltIn)
        }
    }

    // MARK: - Helpers

    mutating func takeDirectives() -> [AgentDirective] {
        defer { directives = [] }
        return directives
    }

    private mutating func sendToMaster(_ fill: (inout Agora_V1_Envelope) -> Void) {
        var envelope = Agora_V1_Envelope()
        fill(&envelope)
        directives.append(.sendToMaster(envelope))
    }

    private mutating func sendToExecutor(_ event: Agora_V1_Executor_Event, peer: PeerID) {
        var envelope = Agora_V1_Envelope()
        envelope.executorEvent = event
        directives.append(.sendToExecutor(envelope, peer: peer))
    }

    mutating func log(_ message: String) {
        directives.append(.log(message))
    }

    private func unixTime(_ now: Duration) -> Double {
        configuration.startedAtUnixSeconds + now.seconds
    }

    private func protoTask(_ task: AgentTask, agentID: String) -> Agora_V1_Task {
        var proto = Agora_V1_Task()
        proto.name = task.info.name
        proto.taskID = task.info.taskID
        proto.frameworkID.value = task.key.frameworkID
        proto.executorID.value = task.executorID
        proto.agentID.value = agentID
        proto.state = task.state
        proto.resources = task.info.resources
        if let head = streams[task.key]?.pending.first {
            proto.statusUpdateState = head.status.state
            proto.statusUpdateUuid = head.status.uuid
        }
        return proto
    }

    static func uuid() -> Data {
        withUnsafeBytes(of: UUID().uuid) { Data($0) }
    }
}
