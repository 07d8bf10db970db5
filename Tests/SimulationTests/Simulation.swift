import AgoraProto
import Foundation
import Messaging
import Resources

@testable import Agent
@testable import Master

/// A deterministic simulation of a whole Agora cluster: one `MasterCore`, several
/// `AgentCore`s, scripted frameworks and fake executors, connected by a simulated
/// network that drops, duplicates, reorders and delays messages, with crashes and
/// partitions injected. Everything random comes from one seeded generator and time
/// is a manual clock, so a seed replays the same run (see `SimulationTests`).
///
/// A run is `chaosSteps` steps with faults, then a drain: faults stop, the network
/// becomes reliable, crashed parts restart, partitions heal, frameworks stop
/// launching and finally reconcile. Invariants are checked after every step, and
/// the liveness ones (nothing forgotten, every update delivered) at the end.
struct Simulation {
    struct Settings {
        var seed: UInt64
        var chaosSteps = 250
        /// How long the drain lasts (virtual time) before the final checks.
        var drainDuration: Duration = .seconds(60)
        /// When, into the drain, frameworks start reconciling their open tasks (every 10 s).
        var drainReconcileAfter: Duration = .seconds(35)
        var maxDrainSteps = 1_500
        var traceLines = 80
        /// Builds the trace (costly); off for sweeps, which replay a failing seed with it on.
        var tracing = false
        var keepFullTrace = false
        /// Test hook: breaks the harness on purpose to prove the checks can fail.
        var sabotage: Sabotage?
        /// Replaces some of the fault rates each seed draws (names of `Faults`' rates),
        /// or scales the crash, partition and disconnect rates with `storm` (1: as drawn).
        var faultOverrides: [String: Double] = [:]
    }

    // MARK: - The world

    enum Target {
        case master(incarnation: Int, peer: PeerID, agent: Int?)
        /// From master incarnation `master`: lost if that master crashed meanwhile.
        case agent(index: Int, incarnation: Int, master: Int)
        case framework(index: Int, connection: Int, master: Int)
        case agentFromExecutor(index: Int, incarnation: Int, peer: PeerID)
        case executor(pid: Int, connection: Int)
    }

    struct Message {
        var target: Target
        var envelope: Agora_V1_Envelope
        var link: Link
    }

    /// A party on the simulated network.
    enum Node: Hashable, CustomStringConvertible {
        case master
        case agent(Int)
        case framework(Int)
        case executor(Int)

        var description: String {
            switch self {
            case .master: "master"
            case .agent(let index): "agent \(index)"
            case .framework(let index): "fw\(index)"
            case .executor(let pid): "executor \(pid)"
            }
        }
    }

    /// A one-way link; messages on it stay in order unless reordered or delayed.
    struct Link: Hashable, CustomStringConvertible {
        var from: Node
        var to: Node
        var description: String { "\(from) → \(to)" }
    }

    enum Event {
        case deliver(Message)
        case heartbeat
        case restartAgent(Int)
        case restartMaster
        case healPartition(Int)
        case agentSeesMaster(index: Int, incarnation: Int)
    }

    struct Scheduled {
        var at: Duration
        var seq: Int
        var event: Event
    }

    struct SimulatedAgent {
        let index: Int
        var configuration: AgentConfiguration
        let total: Resources
        var core: AgentCore?
        var incarnation = 0
        var startedAt: Duration = .zero
        var peer: PeerID
        var partitioned = false
        var checkpoint: AgentCheckpoint?
        /// UUIDs of acknowledgements this agent (or an incarnation it recovered from) took.
        var acknowledged: Set<Data> = []
        /// Every update this agent checkpointed, oldest first, to be delivered eventually.
        var checkpointed: [(uuid: Data, frameworkID: String, taskID: String, state: Agora_V1_TaskState)] = []
        /// The core changed since its invariants were last checked.
        var dirty = true
        /// Parsed resources of task infos, so checks do not parse them on every step.
        var parsed: [AgentTaskKey: (proto: [Agora_V1_Resource], resources: Resources)] = [:]
    }

    enum PeerOwner {
        case agent(Int, incarnation: Int)
        case framework(Int, connection: Int)
    }

    let settings: Settings
    var rng: SimulationRandom
    var faults: Faults
    var now: Duration = .zero
    var step = 0
    var chaos = true
    var drainStartedAt: Duration?
    var lastReconcileAt: Duration?
    var seq = 0
    var queue: [Scheduled] = []
    var queueKeys: [QueueKey] = []
    var linkClock: [Link: Duration] = [:]

    var master: MasterCore?
    /// The master changed since its invariants were last checked.
    var masterDirty = true
    /// The master's durable registry, as the shell would store it.
    var registry = RegistrySnapshot()
    var masterIncarnation = 0
    var masterStartedAt: Duration = .zero
    let offerTimeout: Duration?
    var agents: [SimulatedAgent] = []
    var frameworks: [SimulatedFramework] = []
    var executors: [Int: SimulatedExecutor] = [:]
    var nextPID = 0
    var peers: [PeerID: PeerOwner] = [:]
    var executorPeers: [PeerID: Int] = [:]

    var stats = Statistics()
    let log = TraceLog()
    var failure: Failure?

    static let epoch = 1_700_000_000.0

    init(settings: Settings) {
        self.settings = settings
        rng = SimulationRandom(seed: settings.seed)
        // Each seed draws its own mix of faults: some runs are calm, some stormy.
        let storm = rng.unit() * 2 * (settings.faultOverrides["storm"] ?? 1)
        faults = Faults(
            drop: rng.chance(0.7) ? rng.unit() * 0.08 : 0,
            duplicate: rng.chance(0.5) ? rng.unit() * 0.05 : 0,
            reorder: rng.chance(0.6) ? rng.unit() * 0.15 : 0,
            delay: rng.chance(0.5) ? rng.unit() * 0.05 : 0,
            agentCrash: 0.006 * storm, masterCrash: 0.002 * storm, partition: 0.005 * storm,
            executorCrash: 0.006 * storm, frameworkDisconnect: 0.003 * storm)
        faults.apply(settings.faultOverrides)
        offerTimeout = rng.chance(0.5) ? nil : .seconds(rng.int(in: 5...30))

        let agentCount = rng.int(in: 2...5)
        for index in 0..<agentCount {
            let ports = rng.int(in: 2...12)
            let total = Wire.bag("cpus:\(rng.int(in: 1...4));mem:\(256 * rng.int(in: 2...8));ports:[31000-\(31000 + ports - 1)]")
            var info = Agora_V1_AgentInfo()
            info.hostname = "host\(index)"
            info.resources = total.proto
            var configuration = AgentConfiguration(agentInfo: info, httpAddress: "http://host\(index):5051",
                                                   bootID: "boot\(index)", version: "sim",
                                                   startedAtUnixSeconds: Self.epoch)
            configuration.statusUpdateBackoff = .seconds(1) ... .seconds(20)
            configuration.registrationBackoff = .milliseconds(500) ... .seconds(10)
            configuration.executorRegistrationTimeout = .seconds(20)
            configuration.defaultKillGracePeriod = .seconds(2)
            agents.append(SimulatedAgent(index: index, configuration: configuration, total: total,
                                         peer: PeerID("none")))
        }
        let frameworkCount = rng.int(in: 1...3)
        for index in 0..<frameworkCount {
            frameworks.append(SimulatedFramework(index: index, partitionAware: index == 0 || rng.chance(0.5)))
        }
    }

    // MARK: - Running

    /// Runs the whole scenario; `failure` is set at the first violation.
    mutating func run() -> Statistics {
        startMaster()
        for index in agents.indices { startAgent(index) }
        for index in frameworks.indices { peers[frameworks[index].peer] = .framework(index, connection: 0) }
        schedule(.heartbeat, at: .zero)
        note("seed \(settings.seed): \(agents.count) agents, \(frameworks.count) frameworks, faults \(faults)")

        while failure == nil {
            step += 1
            if chaos, step > settings.chaosSteps { beginDrain() }
            if let started = drainStartedAt {
                if now - started >= settings.drainReconcileAfter,
                   lastReconcileAt.map({ now - $0 >= .seconds(10) }) ?? true {
                    reconcileAll()
                }
                if now - started >= settings.drainDuration || step > settings.chaosSteps + settings.maxDrainSteps {
                    break
                }
            }
            guard let next = popNext() else { break }
            now = max(now, next.at)
            handle(next.event)
            // The shells' timers: cores are ticked on heartbeats (every 50–500 ms).
            if case .heartbeat = next.event { tickCores() }
            if failure == nil { checkInvariants() }
        }
        if failure == nil { checkQuiescence() }
        stats.steps = step
        stats.virtualSeconds = Double(now.components.seconds)
        stats.tasksLaunched = frameworks.reduce(0) { $0 + $1.launched }
        stats.tasksFinished = frameworks.reduce(0) { total, framework in
            total + framework.tasks.values.filter { $0.terminal == .taskFinished }.count
        }
        stats.updatesDelivered = frameworks.reduce(0) { $0 + $1.updatesReceived }
        return stats
    }

    private mutating func popNext() -> Scheduled? {
        guard !queueKeys.isEmpty else { return nil }
        var best = 0
        for index in queueKeys.indices.dropFirst() where queueKeys[index] < queueKeys[best] {
            best = index
        }
        queueKeys.remove(at: best)
        return queue.remove(at: best)
    }

    private mutating func schedule(_ event: Event, at: Duration) {
        seq += 1
        queue.append(Scheduled(at: at, seq: seq, event: event))
        queueKeys.append(QueueKey(at: at, seq: seq))
    }

    /// When an event is due; events due at the same time run in the order they were scheduled.
    struct QueueKey: Comparable {
        var at: Duration
        var seq: Int
        static func < (lhs: QueueKey, rhs: QueueKey) -> Bool { (lhs.at, lhs.seq) < (rhs.at, rhs.seq) }
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .deliver(let message):
            deliver(message)
        case .heartbeat:
            note("heartbeat")
            heartbeat()
            let next = chaos ? rng.milliseconds(50...500) : rng.milliseconds(500...2_000)
            schedule(.heartbeat, at: now + next)
        case .restartAgent(let index):
            restartAgent(index)
        case .restartMaster:
            restartMaster()
        case .healPartition(let index):
            healPartition(index)
        case .agentSeesMaster(let index, let incarnation):
            guard agents[index].core != nil, agents[index].incarnation == incarnation, !agents[index].partitioned,
                  master != nil else { return }
            note("agent \(index) reconnects to the master")
            let directives = agents[index].core!.masterConnected(now: agentNow(index))
            route(directives, fromAgent: index)
        }
    }

    private mutating func tickCores() {
        if master != nil {
            let local = now - masterStartedAt
            var directives = master!.tick(now: local)
            directives += master!.allocateIfDue(now: local)
            route(directives)
        }
        for index in agents.indices where agents[index].core != nil {
            let directives = agents[index].core!.tick(now: agentNow(index))
            route(directives, fromAgent: index)
        }
    }

    private func agentNow(_ index: Int) -> Duration { now - agents[index].startedAt }

    // MARK: - Heartbeat: timers of executors and frameworks, fault injection

    private mutating func heartbeat() {
        for pid in executors.keys.sorted() {
            guard var executor = executors[pid] else { continue }
            if let exitAt = executor.exitAt, exitAt <= now {
                executors[pid] = nil
                executorPeers[executor.peer] = nil
                executorExited(executor)
                continue
            }
            if let at = executor.connectAt, at <= now, agents[executor.host].core != nil {
                executorPeers[executor.peer] = nil
                executor.connect(now: now)
                executorPeers[executor.peer] = pid
            }
            let calls = executor.timer(now: now, rng: &rng)
            executors[pid] = executor
            for call in calls { sendFromExecutor(pid, call) }
        }
        for index in frameworks.indices {
            let output = frameworks[index].timer(now: now, step: step, chaos: chaos, rng: &rng)
            handleFrameworkOutput(index, output)
        }
        guard chaos else { return }
        for index in agents.indices {
            if agents[index].core != nil, rng.chance(faults.agentCrash) { crashAgent(index) }
            if !agents[index].partitioned, rng.chance(faults.partition) { partition(index) }
        }
        if master != nil, rng.chance(faults.masterCrash) { crashMaster() }
        if rng.chance(faults.executorCrash), let pid = rng.pick(executors.keys.sorted()),
           let executor = executors[pid], !executor.isDying {
            stats.executorCrashes += 1
            let memory = rng.chance(0.3)
            note("FAULT executor \(pid) (\(executor.key.executorID) on agent \(executor.host)) crashes")
            executors[pid]!.exit(at: now, status: memory ? 137 : 1,
                                 description: memory ? "was killed by signal 9" : "exited with status 1",
                                 memoryLimit: memory)
        }
        for index in frameworks.indices where rng.chance(faults.frameworkDisconnect) {
            disconnectFramework(index)
        }
    }

    // MARK: - Master

    private mutating func startMaster() {
        masterIncarnation += 1
        masterStartedAt = now
        var configuration = MasterConfiguration(runID: "m\(masterIncarnation)", hostname: "master",
                                                advertisedAddress: "tcp://master:5050", version: "sim",
                                                startedAtUnixSeconds: Self.epoch + now.seconds)
        configuration.agentPingTimeout = .seconds(5)
        configuration.maxAgentPingTimeouts = 3
        configuration.frameworkHeartbeatInterval = .seconds(5)
        configuration.offerTimeout = offerTimeout
        configuration.agentReregisterTimeout = .seconds(40)
        configuration.allocator.agentShuffleSeed = settings.seed &+ UInt64(masterIncarnation)
        master = MasterCore(configuration: configuration)
        route(master!.recover(from: registry, now: .zero))
    }

    private mutating func crashMaster() {
        stats.masterCrashes += 1
        note("FAULT master m\(masterIncarnation) crashes")
        // Tasks whose launch never reached their agent are forgotten by a design that
        // rebuilds tasks from agents (as Mesos); the framework learns it by reconciling.
        for (key, task) in master!.tasks {
            let onAgent = agents.contains { agent in
                agent.core?.agentID == task.agentID
                    && agent.core?.tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: key.taskID)] != nil
            }
            if !onAgent, let index = frameworks.firstIndex(where: { $0.frameworkID == key.frameworkID }) {
                frameworks[index].tasks[key.taskID]?.lostWithMaster = true
            }
        }
        master = nil
        for index in frameworks.indices {
            frameworks[index].subscribed = false
            frameworks[index].reconnectAt = .seconds(1_000_000_000)  // until the master is back
        }
        schedule(.restartMaster, at: now + rng.milliseconds(500...10_000))
    }

    private mutating func restartMaster() {
        guard master == nil else { return }
        startMaster()
        note("master restarts as m\(masterIncarnation)")
        for index in frameworks.indices {
            frameworks[index].reconnectAt = now + rng.milliseconds(10...1_000)
        }
        for index in agents.indices where agents[index].core != nil && !agents[index].partitioned {
            // The agent's connection comes back; sometimes it only notices by silence.
            if rng.chance(0.7) {
                schedule(.agentSeesMaster(index: index, incarnation: agents[index].incarnation),
                         at: now + rng.milliseconds(10...1_000))
            }
        }
    }

    private mutating func route(_ directives: [MasterDirective]) {
        if !directives.isEmpty { masterDirty = true }
        for directive in directives {
            switch directive {
            case .send(let envelope, let peer):
                switch peers[peer] {
                case .agent(let index, let incarnation):
                    send(envelope, to: .agent(index: index, incarnation: incarnation, master: masterIncarnation), remote: true,
                         link: Link(from: .master, to: .agent(index)))
                case .framework(let index, let connection):
                    send(envelope, to: .framework(index: index, connection: connection, master: masterIncarnation),
                         remote: true,
                         link: Link(from: .master, to: .framework(index)))
                case nil:
                    note("  master → unknown peer \(peer): \(Wire.describe(envelope)) (dropped)")
                }
            case .persist(let change):
                registry.apply(change)
            case .log(let message):
                if settings.keepFullTrace { note("  master: \(message)") }
            }
        }
    }

    // MARK: - Agents

    private mutating func startAgent(_ index: Int) {
        agents[index].incarnation += 1
        agents[index].startedAt = now
        let peer = PeerID("a\(index).\(agents[index].incarnation)")
        agents[index].peer = peer
        peers[peer] = .agent(index, incarnation: agents[index].incarnation)
        var configuration = agents[index].configuration
        configuration.startedAtUnixSeconds = Self.epoch + now.seconds
        if let checkpoint = agents[index].checkpoint {
            let live = Set(executors.values.filter { $0.host == index && !$0.isDying }.map(\.containerID))
            var core = AgentCore(configuration: configuration, recovering: checkpoint, liveContainers: live,
                                 now: .zero)
            let directives = core.recoveryDirectives()
            agents[index].core = core
            note("agent \(index) restarts from its checkpoint as incarnation \(agents[index].incarnation) (\(checkpoint.tasks.count) tasks, live containers \(live.sorted()))")
            route(directives, fromAgent: index)
        } else {
            agents[index].core = AgentCore(configuration: configuration)
            agents[index].acknowledged = []
            note("agent \(index) starts (incarnation \(agents[index].incarnation))")
        }
        for pid in executors.keys.sorted() where executors[pid]!.host == index && !executors[pid]!.isDying {
            executors[pid]!.connectAt = now + rng.milliseconds(10...500)
        }
    }

    private mutating func crashAgent(_ index: Int) {
        stats.agentCrashes += 1
        // The shell checkpoints after every batch of inputs and no message leaves before
        // that, so the state after the last delivered input is what survives a crash.
        var checkpoint = agents[index].core!.checkpoint(pids: [:])
        if settings.sabotage == .resendAcknowledged, index == 0, let taken = checkpoint {
            checkpoint = taken
            for task in checkpoint!.tasks.indices where checkpoint!.tasks[task].pendingUpdates.isEmpty {
                if let last = agents[index].checkpointed.last(where: {
                    $0.taskID == checkpoint!.tasks[task].taskID && $0.frameworkID == checkpoint!.tasks[task].frameworkID
                }) {
                    var update = Agora_V1_StatusUpdate()
                    update.agentID.value = checkpoint!.agentID
                    update.frameworkID.value = last.frameworkID
                    update.status.taskID.value = last.taskID
                    update.status.state = last.state
                    update.status.uuid = last.uuid
                    checkpoint!.tasks[task].pendingUpdates = [(try? update.serializedData()) ?? Data()]
                }
            }
        }
        if checkpoint != nil { agents[index].checkpoint = checkpoint }
        agents[index].core = nil
        peers[agents[index].peer] = nil
        note("FAULT agent \(index) crashes (checkpoint: \(checkpoint.map { "\($0.tasks.count) tasks" } ?? "none"))")
        for pid in executors.keys.sorted() where executors[pid]!.host == index {
            executorPeers[executors[pid]!.peer] = nil
            executors[pid]!.disconnect()
        }
        schedule(.restartAgent(index), at: now + rng.milliseconds(500...20_000))
    }

    private mutating func restartAgent(_ index: Int) {
        guard agents[index].core == nil else { return }
        startAgent(index)
    }

    private mutating func partition(_ index: Int) {
        stats.partitions += 1
        agents[index].partitioned = true
        let until = now + rng.milliseconds(3_000...60_000)
        note("FAULT agent \(index) is partitioned from the master until t=\(until.seconds)")
        schedule(.healPartition(index), at: until)
    }

    private mutating func healPartition(_ index: Int) {
        guard agents[index].partitioned else { return }
        agents[index].partitioned = false
        note("partition of agent \(index) heals")
        if agents[index].core != nil, rng.chance(0.5) {
            schedule(.agentSeesMaster(index: index, incarnation: agents[index].incarnation),
                     at: now + rng.milliseconds(10...1_000))
        }
    }

    private mutating func route(_ directives: [AgentDirective], fromAgent index: Int) {
        if !directives.isEmpty { agents[index].dirty = true }
        for directive in directives {
            switch directive {
            case .sendToMaster(let envelope):
                if case .statusUpdate(let update) = envelope.payload,
                   agents[index].acknowledged.contains(update.status.uuid) {
                    fail("agent \(index) sent again update \(Wire.short(update.status.uuid)) (\(update.status.taskID.value) \(Wire.state(update.status.state))) that it already had acknowledged")
                }
                send(envelope, to: .master(incarnation: masterIncarnation, peer: agents[index].peer, agent: index),
                     remote: true, link: Link(from: .agent(index), to: .master))
            case .sendToExecutor(let envelope, let peer):
                sendToExecutor(envelope, peer: peer, fromAgent: index)
            case .launchTask(let launch):
                // The task's container is made at once; the simulated host never fails to.
                sendToExecutor(Wire.envelope(launch.event), peer: launch.peer, fromAgent: index)
            case .launchExecutor(let launch):
                launchExecutor(launch, on: index)
            case .destroyContainer(_, let containerID, let grace):
                for pid in executors.keys.sorted() where executors[pid]!.host == index
                    && executors[pid]!.containerID == containerID {
                    let graceMS = Int(grace.components.seconds * 1_000) + Int(grace.components.attoseconds / 1_000_000_000_000_000)
                    executors[pid]!.exit(at: now + rng.milliseconds(1...max(1, graceMS)), status: 137,
                                         description: "was killed by signal 9")
                }
            case .checkpointUpdate(let update):
                agents[index].checkpointed.append((update.status.uuid, update.frameworkID.value,
                                                   update.status.taskID.value, update.status.state))
            case .checkpointAgentID, .scheduleSandboxRemoval:
                break
            case .log(let message):
                if settings.keepFullTrace { note("  agent \(index): \(message)") }
            }
        }
    }

    private mutating func sendToExecutor(_ envelope: Agora_V1_Envelope, peer: PeerID, fromAgent index: Int) {
        guard let pid = executorPeers[peer], let executor = executors[pid] else {
            note("  agent \(index) → gone executor \(peer): \(Wire.describe(envelope)) (dropped)")
            return
        }
        send(envelope, to: .executor(pid: pid, connection: executor.connection), remote: false,
             link: Link(from: .agent(index), to: .executor(pid)))
    }

    private mutating func launchExecutor(_ launch: ExecutorLaunch, on index: Int) {
        nextPID += 1
        let pid = nextPID
        let kind: SimulatedExecutor.Kind = switch launch.program {
        case .custom: .custom
        case .builtIn: launch.isShared ? .shared : .group
        }
        if rng.chance(0.01) {
            note("  executor for \(launch.key.executorID) fails to launch")
            let directives = agents[index].core!.executorLaunchFailed(launch.key, containerID: launch.containerID,
                                                                      message: "simulated launch failure",
                                                                      now: agentNow(index))
            route(directives, fromAgent: index)
            return
        }
        var executor = SimulatedExecutor(pid: pid, host: index, key: launch.key, containerID: launch.containerID,
                                         kind: kind, hangs: rng.chance(0.01))
        executor.connectAt = now + rng.milliseconds(5...200)
        executors[pid] = executor
        note("  agent \(index) launches executor \(pid) (\(kind.rawValue) \(launch.key.executorID), \(launch.containerID))")
    }

    private mutating func executorExited(_ executor: SimulatedExecutor) {
        note("executor \(executor.pid) (\(executor.key.executorID) on agent \(executor.host)) \(executor.exitDescription)")
        guard agents[executor.host].core != nil else { return }
        let directives = agents[executor.host].core!.executorExited(
            executor.key, containerID: executor.containerID, status: executor.exitStatus,
            description: executor.exitDescription, memoryLimitReached: executor.memoryLimit,
            now: agentNow(executor.host))
        route(directives, fromAgent: executor.host)
    }

    private mutating func sendFromExecutor(_ pid: Int, _ call: Agora_V1_Executor_Call) {
        guard let executor = executors[pid], executor.connected else { return }
        let agent = agents[executor.host]
        send(Wire.envelope(call),
             to: .agentFromExecutor(index: executor.host, incarnation: agent.incarnation, peer: executor.peer),
             remote: false, link: Link(from: .executor(pid), to: .agent(executor.host)))
    }

    // MARK: - Frameworks

    private mutating func disconnectFramework(_ index: Int) {
        stats.frameworkDisconnects += 1
        let old = frameworks[index].peer
        note("FAULT \(frameworks[index].name)'s connection drops")
        if master != nil { route(master!.peerDisconnected(old, now: now - masterStartedAt)) }
        peers[old] = nil
        frameworks[index].connection += 1
        frameworks[index].peer = PeerID("f\(index).\(frameworks[index].connection)")
        peers[frameworks[index].peer] = .framework(index, connection: frameworks[index].connection)
        frameworks[index].subscribed = false
        frameworks[index].reconnectAt = now + rng.milliseconds(100...3_000)
    }

    private mutating func handleFrameworkOutput(_ index: Int, _ output: SimulatedFramework.Output) {
        for violation in output.violations { fail(violation) }
        for text in output.notes { note("  \(text)") }
        for call in output.calls {
            if settings.sabotage == .loseUpdatesAtFramework, call.type == .acknowledge { continue }
            guard master != nil, frameworks[index].reconnectAt == nil else {
                note("  \(frameworks[index].name) cannot reach the master: \(Wire.describe(Wire.envelope(call))) (dropped)")
                continue
            }
            send(Wire.envelope(call),
                 to: .master(incarnation: masterIncarnation, peer: frameworks[index].peer, agent: nil),
                 remote: true, link: Link(from: .framework(index), to: .master))
        }
    }

    private mutating func reconcileAll() {
        lastReconcileAt = now
        note("drain: frameworks reconcile their open tasks")
        for index in frameworks.indices {
            var output = SimulatedFramework.Output()
            if let call = frameworks[index].reconcileOpenTasks() { output.calls.append(call) }
            handleFrameworkOutput(index, output)
        }
    }

    // MARK: - Network

    private mutating func send(_ envelope: Agora_V1_Envelope, to target: Target, remote: Bool, link: Link) {
        stats.messagesSent += 1
        let text = settings.tracing || settings.keepFullTrace ? "\(link): \(Wire.describe(envelope))" : ""
        if remote, chaos, isPartitioned(target) {
            stats.messagesDropped += 1
            note("  \(text) (lost: partition)")
            return
        }
        if remote, chaos, rng.chance(faults.drop) {
            stats.messagesDropped += 1
            note("  \(text) (dropped)")
            return
        }
        // Scheduler calls are never duplicated: the transport does not repeat messages,
        // and a framework that re-sends an ACCEPT is told its (running) tasks were
        // launched with invalid offers, as in Mesos.
        let isCall: Bool = if case .schedulerCall = envelope.payload { true } else { false }
        let copies = remote && chaos && !isCall && rng.chance(faults.duplicate) ? 2 : 1
        for copy in 0..<copies {
            var deliverAt = now + (remote ? rng.milliseconds(1...20) : rng.milliseconds(1...5))
            var extra = ""
            if remote, chaos, rng.chance(faults.reorder) {
                // Jitter: overtakes (or is overtaken by) messages on other links.
                deliverAt += rng.milliseconds(1...400)
                extra = " (late)"
            } else if remote, chaos, rng.chance(faults.delay) {
                // A stall: the link holds this and everything behind it.
                deliverAt += rng.milliseconds(1_000...8_000)
                extra = " (stalled)"
            }
            if remote, chaos, rng.chance(faults.intraLinkReorder) {
                deliverAt += rng.milliseconds(1...2_000)
                extra += " (out of order)"
            } else {
                // In order on its link, as over one ZeroMQ connection.
                deliverAt = max(deliverAt, linkClock[link] ?? .zero)
                linkClock[link] = deliverAt
            }
            note("  \(text)\(copy > 0 ? " (duplicate)" : "")\(extra)")
            seq += 1
            schedule(.deliver(Message(target: target, envelope: envelope, link: link)), at: deliverAt)
        }
    }

    private func isPartitioned(_ target: Target) -> Bool {
        switch target {
        case .agent(let index, _, _): agents[index].partitioned
        case .master(_, _, let agent?): agents[agent].partitioned
        default: false
        }
    }


    private mutating func deliver(_ message: Message) {
        let text = settings.tracing || settings.keepFullTrace
            ? "deliver \(message.link): \(Wire.describe(message.envelope))" : ""
        switch message.target {
        case .master(let incarnation, let peer, let agent):
            guard master != nil, incarnation == masterIncarnation else {
                return note("\(text) (lost: master m\(incarnation) is gone)")
            }
            if let agent, agents[agent].partitioned {
                stats.messagesDropped += 1
                return note("\(text) (lost: partition)")
            }
            var envelope = message.envelope
            if settings.sabotage == .silentExecutorExits {
                if case .exitedExecutor = envelope.payload { return note("\(text) (sabotaged)") }
                if case .pong(var pong) = envelope.payload {
                    pong.executors = []
                    envelope.pong = pong
                }
            }
            note(text)
            masterDirty = true
            let directives = master!.handle(envelope, from: peer, now: now - masterStartedAt)
            if case .schedulerCall(let call) = message.envelope.payload, call.type == .accept {
                markAdmitted(call)
            }
            route(directives)
        case .agent(let index, let incarnation, let sender):
            guard agents[index].core != nil, agents[index].incarnation == incarnation else {
                return note("\(text) (lost: agent incarnation \(incarnation) is gone)")
            }
            guard sender == masterIncarnation, master != nil else {
                return note("\(text) (lost: master m\(sender) crashed)")
            }
            if agents[index].partitioned {
                stats.messagesDropped += 1
                return note("\(text) (lost: partition)")
            }
            note(text)
            agents[index].dirty = true
            if case .statusUpdateAcknowledgement(let ack) = message.envelope.payload {
                agents[index].acknowledged.insert(ack.uuid)
            }
            let directives = agents[index].core!.handleMaster(message.envelope, now: agentNow(index))
            route(directives, fromAgent: index)
        case .framework(let index, let connection, let sender):
            guard frameworks[index].connection == connection, frameworks[index].reconnectAt == nil,
                  sender == masterIncarnation, master != nil else {
                return note("\(text) (lost: connection closed)")
            }
            guard case .schedulerEvent(let event) = message.envelope.payload else { return note("\(text) (ignored)") }
            if settings.sabotage == .loseUpdatesAtFramework, event.type == .update {
                return note("\(text) (sabotaged)")
            }
            note(text)
            let output = frameworks[index].receive(event, now: now, step: step, rng: &rng)
            handleFrameworkOutput(index, output)
            if settings.sabotage == .forgeTerminalUpdate, event.type == .update, event.update.status.state.isTerminal {
                var forged = event
                forged.update.status.state = event.update.status.state == .taskFailed ? .taskFinished : .taskFailed
                forged.update.status.clearUuid()
                handleFrameworkOutput(index, frameworks[index].receive(forged, now: now, step: step, rng: &rng))
            }
        case .agentFromExecutor(let index, let incarnation, let peer):
            guard agents[index].core != nil, agents[index].incarnation == incarnation else {
                return note("\(text) (lost: agent incarnation \(incarnation) is gone)")
            }
            note(text)
            agents[index].dirty = true
            let directives = agents[index].core!.handleExecutor(message.envelope, from: peer, now: agentNow(index))
            route(directives, fromAgent: index)
        case .executor(let pid, let connection):
            guard var executor = executors[pid], executor.connection == connection, executor.connected,
                  case .executorEvent(let event) = message.envelope.payload else {
                return note("\(text) (lost: executor gone or reconnected)")
            }
            note(text)
            let calls = executor.receive(event, now: now, rng: &rng)
            executors[pid] = executor
            for call in calls { sendFromExecutor(pid, call) }
        }
    }

    private mutating func markAdmitted(_ call: Agora_V1_Scheduler_Call) {
        guard let index = frameworks.firstIndex(where: { $0.frameworkID == call.frameworkID.value }) else { return }
        for operation in call.accept.operations {
            let tasks = operation.type == .launchGroup ? operation.launchGroup.taskGroup.tasks : operation.launch.taskInfos
            for task in tasks where master!.tasks[TaskKey(frameworkID: call.frameworkID.value, taskID: task.taskID.value)] != nil {
                frameworks[index].tasks[task.taskID.value]?.admitted = true
            }
        }
    }

    // MARK: - Drain

    private mutating func beginDrain() {
        chaos = false
        drainStartedAt = now
        note("=== drain: no more faults; crashed parts restart, partitions heal ===")
        for index in agents.indices {
            if agents[index].partitioned { healPartition(index) }
            if agents[index].core == nil { startAgent(index) }
        }
        if master == nil { restartMaster() }
        for index in frameworks.indices { frameworks[index].draining = true }
    }

    // MARK: - Trace and failures

    /// Adds a line to the trace (only built when tracing: the text is not evaluated otherwise).
    func note(_ text: @autoclosure () -> String) {
        guard settings.tracing || settings.keepFullTrace else { return }
        let text = text()
        let line = text.hasPrefix("  ") ? text : "#\(step) t=\(String(format: "%.3f", now.seconds)) \(text)"
        log.append(line, keepAll: settings.keepFullTrace, limit: settings.traceLines)
    }

    mutating func fail(_ violation: String) {
        guard failure == nil else { return }
        let lines = settings.keepFullTrace ? log.full : Array(log.recent.suffix(settings.traceLines))
        failure = Failure(seed: settings.seed, step: step, violation: violation, trace: lines)
    }
}

/// The run's trace: the last lines (or all of them), kept aside so that building a
/// line never needs exclusive access to the simulation.
final class TraceLog {
    private(set) var recent: [String] = []
    private(set) var full: [String] = []

    func append(_ line: String, keepAll: Bool, limit: Int) {
        if keepAll { full.append(line) }
        recent.append(line)
        if recent.count > limit * 2 { recent.removeFirst(recent.count - limit) }
    }
}

