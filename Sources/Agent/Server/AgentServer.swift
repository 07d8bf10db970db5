import AgoraProto
import Foundation
import Snapshots
import Logging
import Messaging
import ProcessSupervision
import Resources
import ServiceLifecycle

/// How the agent starts and isolates executors.
public struct AgentRuntimeOptions: Sendable {
    /// The `agora` executable the agent runs from. Built-in executors run
    /// ``builtInExecutorPath``, the `agora-executor` program installed beside it.
    public var agoraExecutable: String
    public var workDirectory: String
    /// Whether to put each container in its own cgroup (when the host allows).
    public var useCgroups: Bool
    /// Enforce a hard CPU ceiling (CFS quota) in addition to proportional shares.
    public var cfsQuota: Bool
    /// How long finished sandboxes are kept.
    public var sandboxRetention: Duration
    /// Stop every container when the agent stops (for throwaway local clusters);
    /// normally executors outlive the agent.
    public var killExecutorsOnShutdown = false
    /// What to do with executors left running by a previous run of this agent.
    public var recovery: RecoveryMode = .reconnect
    /// How long a built-in executor waits for a lost agent to come back before it
    /// kills its tasks and exits (`AGORA_RECOVERY_TIMEOUT_SECONDS`).
    public var executorRecoveryTimeout: Duration = .seconds(15 * 60)

    public enum RecoveryMode: String, Sendable, CaseIterable {
        /// Re-attach to running executors and keep their tasks.
        case reconnect
        /// Kill them, forget them, and register as a new agent.
        case cleanup
    }

    public init(agoraExecutable: String, workDirectory: String, useCgroups: Bool, cfsQuota: Bool = false,
                sandboxRetention: Duration = .seconds(3_600)) {
        self.agoraExecutable = agoraExecutable
        self.workDirectory = workDirectory
        self.useCgroups = useCgroups
        self.cfsQuota = cfsQuota
        self.sandboxRetention = sandboxRetention
    }

    /// `agora-executor` in the directory of ``agoraExecutable`` (made absolute).
    public var builtInExecutorPath: String {
        URL(fileURLWithPath: agoraExecutable).deletingLastPathComponent()
            .appendingPathComponent(Self.builtInExecutorName).path
    }

    /// The file name of the built-in executor program.
    public static let builtInExecutorName = "agora-executor"
}

/// The agent daemon's shell: connects to the master, serves executors over `ipc://`,
/// starts containers, and carries out `AgentCore`'s directives.
public actor AgentServer: Service {
    /// The ipc endpoint executors connect to.
    public nonisolated let executorEndpoint: String
    /// `/state` and `/metrics`, built at the next timer tick (every 100 ms) for readers
    /// only; a reader waits at most 2 s (the agent is stuck) for them.
    public nonisolated let snapshots = SnapshotStore(maximumWait: .seconds(2))

    private var core: AgentCore
    private let master: DealerEndpoint
    private let executorRouter: RouterEndpoint
    private let options: AgentRuntimeOptions
    private let isolator: (any CgroupIsolator)?
    private let logger: Logger
    private let clock = ContinuousClock()
    private let startedAt: ContinuousClock.Instant
    private var containers: [String: pid_t] = [:]
    /// Executors started by an earlier run of the agent: not our children, so their
    /// end is noticed by polling.
    private var unsupervised: [String: (key: ExecutorKey, pid: pid_t)] = [:]
    private let checkpointPath: String
    /// Inputs waiting for the core; taken in batches by `processInputs()`.
    private let inbox = AgentInbox()
    private var checkpointEncoder = AgentCheckpointEncoder()
    /// The checkpoint document last written to disk.
    private var writtenCheckpoint: Data?
    /// Messages of the current batch, sent once the checkpoint covering them is written.
    private var heldMessages: [HeldMessage] = []
    private var checkpointFailing = false
    private var readyContinuation: CheckedContinuation<String, Never>?
    private var started = false
    private var startContinuation: CheckedContinuation<Void, Never>?

    public init(configuration: AgentConfiguration, masterAddress: String, options: AgentRuntimeOptions,
                isolator: (any CgroupIsolator)?, logger: Logger) throws {
        let metaDirectory = options.workDirectory + "/meta"
        try FileManager.default.createDirectory(atPath: metaDirectory, withIntermediateDirectories: true)
        let socketPath = options.workDirectory + "/executors.sock"
        unlink(socketPath)
        executorEndpoint = "ipc://" + socketPath
        executorRouter = try RouterEndpoint(binding: executorEndpoint, logger: logger)
        master = try DealerEndpoint(connectingTo: masterAddress, logger: logger)
        self.options = options
        self.isolator = isolator
        self.logger = logger
        self.startedAt = clock.now
        self.checkpointPath = metaDirectory + "/checkpoint.json"
        let recovered = try Self.recover(configuration: configuration, checkpointPath: checkpointPath, options: options,
                                         isolator: isolator, logger: logger)
        core = recovered.core
        unsupervised = recovered.adopted
        containers = recovered.adopted.mapValues(\.pid)
    }

    /// Picks up where a previous run on this work dir left off (see `RecoveryMode`):
    /// the core to start with, and the executors it adopts.
    private static func recover(configuration: AgentConfiguration, checkpointPath: String, options: AgentRuntimeOptions,
                                isolator: (any CgroupIsolator)?, logger: Logger)
        throws -> (core: AgentCore, adopted: [String: (key: ExecutorKey, pid: pid_t)]) {
        let fresh = AgentCore(configuration: configuration)
        guard let data = FileManager.default.contents(atPath: checkpointPath) else { return (fresh, [:]) }
        let checkpoint: AgentCheckpoint
        do {
            checkpoint = try JSONDecoder().decode(AgentCheckpoint.self, from: data)
        } catch {
            throw AgentStartError("the checkpoint \(checkpointPath) is unreadable (\(error)); move it away to start as a new agent")
        }
        guard checkpoint.bootID == configuration.bootID else {
            logger.notice("the host rebooted since agent \(checkpoint.agentID) last ran: registering as a new agent")
            try? FileManager.default.removeItem(atPath: checkpointPath)
            return (fresh, [:])
        }
        var live: [String: (key: ExecutorKey, pid: pid_t)] = [:]
        for executor in checkpoint.executors {
            guard let pid = executor.pid, Self.isExecutorAlive(pid: pid, containerID: executor.containerID) else { continue }
            live[executor.containerID] = (ExecutorKey(frameworkID: executor.frameworkID, executorID: executor.executorID), pid)
        }
        switch options.recovery {
        case .cleanup:
            logger.notice("cleaning up after agent \(checkpoint.agentID): killing \(live.count) executor(s), registering anew")
            for (containerID, (_, pid)) in live {
                Foundation.kill(-pid, SIGKILL)
                if let isolator { Task { try? await isolator.destroy(containerID: containerID) } }
            }
            // Tasks of a shared executor live in containers of their own.
            if let isolator {
                for containerID in checkpoint.tasks.compactMap(\.containerID) {
                    Task { try? await isolator.destroy(containerID: containerID) }
                }
            }
            try? FileManager.default.removeItem(atPath: checkpointPath)
            return (fresh, [:])
        case .reconnect:
            logger.notice("recovering agent \(checkpoint.agentID): \(live.count) of \(checkpoint.executors.count) executor(s) still run")
            let core = AgentCore(configuration: configuration, recovering: checkpoint, liveContainers: Set(live.keys), now: .zero)
            return (core, live)
        }
    }

    /// Whether `pid` is still the executor of `containerID` (and not a recycled pid).
    static func isExecutorAlive(pid: pid_t, containerID: String) -> Bool {
        guard pid > 1, Foundation.kill(pid, 0) == 0,
              let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        return environment.split(separator: 0).contains { Data($0) == Data("AGORA_CONTAINER_ID=\(containerID)".utf8) }
    }

    private var now: Duration { clock.now - startedAt }

    /// Memory the built-in executor process itself needs (its measured RSS is ~20 MB).
    static let builtInExecutorMemoryMB = 32.0
    /// The container of a framework's shared command executor: memory for the executor
    /// and its bookkeeping of many tasks; the cpu weight of a tenth of a core.
    static let sharedExecutorMemoryMB = 64.0
    static let sharedExecutorCPUs = 0.1

    /// Waits until the master has admitted this agent and returns its agent ID.
    public func waitUntilRegistered() async -> String {
        if let id = core.agentID, core.registration == .registered { return id }
        return await withCheckedContinuation { readyContinuation = $0 }
    }

    /// The agent's counters right now.
    public var counters: AgentCounters { core.counters }

    /// Lets `run()` register with the master, advertising `httpAddress` (known only
    /// once the HTTP server has bound its port).
    public func begin(httpAddress: String) {
        core.setHTTPAddress(httpAddress)
        started = true
        startContinuation?.resume()
        startContinuation = nil
    }

    public func run() async throws {
        if !started {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { continuation in
                    if started { continuation.resume() } else { startContinuation = continuation }
                }
            } onGracefulShutdown: {
                Task { await self.begin(httpAddress: "") }
            }
        }
        perform(core.recoveryDirectives())
        perform(core.tick(now: now))
        commit()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.processInputs() }
            group.addTask { await self.receiveFromMaster() }
            group.addTask { await self.watchMaster() }
            group.addTask { await self.receiveFromExecutors() }
            group.addTask { await self.runTimers() }
            await withGracefulShutdownHandler {
                await group.next()
            } onGracefulShutdown: {
                Task { await self.stopEndpoints() }
            }
            group.cancelAll()
        }
        inbox.finish()
        let (state, metrics) = snapshotDocuments(includingState: true)
        snapshots.close(state: state, metrics: metrics)
        await stopEndpoints()
        if options.killExecutorsOnShutdown {
            await destroyAllContainers()
            logger.info("agent stopped with its executors")
        } else {
            logger.info("agent stopped; executors keep running")
        }
    }

    private func stopEndpoints() async {
        await master.shutdown()
        await executorRouter.shutdown()
    }

    // MARK: - Inputs

    /// Most inputs one batch takes, so that messages held for its checkpoint wait for a
    /// bounded amount of work.
    static let maxBatch = 256

    /// The agent's only consumer of inputs: takes everything queued, runs it through the
    /// core, then writes one checkpoint and sends the messages that waited for it.
    private func processInputs() async {
        while await inbox.waitForInput() {
            while true {
                let batch = inbox.take(upTo: Self.maxBatch)
                if batch.isEmpty { break }
                for input in batch { handle(input) }
                commit()
            }
        }
    }

    private func handle(_ input: AgentInput) {
        switch input {
        case .master(let envelope):
            perform(core.handleMaster(envelope, now: now))
            if core.registration == .registered, let id = core.agentID, let continuation = readyContinuation {
                readyContinuation = nil
                continuation.resume(returning: id)
            }
        case .masterConnected:
            perform(core.masterConnected(now: now))
        case .executor(let message):
            var envelope = message.envelope
            if case .executorCall(var call) = envelope.payload, call.type == .update {
                annotateMemoryLimit(&call)
                envelope.executorCall = call
            }
            perform(core.handleExecutor(envelope, from: message.peer, now: now))
        case .executorExited(let key, let containerID, let status):
            executorProcessExited(key, containerID: containerID, status: status)
        case .tick:
            // Most ticks change nothing a reader sees; those that do have something to do.
            let timed = core.tick(now: now)
            if !timed.isEmpty { perform(timed) }
            for (containerID, executor) in unsupervised where !Self.isExecutorAlive(pid: executor.pid, containerID: containerID) {
                unsupervised[containerID] = nil
                logger.info("\(executor.key), adopted from the agent's previous run, ended")
                executorProcessExited(executor.key, containerID: containerID, status: .unknown)
            }
            if let capture = snapshots.claimCapture() {
                let (state, metrics) = snapshotDocuments(includingState: capture.includesState)
                snapshots.publish(capture, state: state, metrics: capture.includesMetrics ? metrics : nil)
            }
        }
    }

    private nonisolated func receiveFromMaster() async {
        for await envelope in master.messages { inbox.post(.master(envelope)) }
    }

    private nonisolated func watchMaster() async {
        var seenFirstConnection = false
        for await event in master.events {
            guard case .connected = event else { continue }
            if seenFirstConnection { inbox.post(.masterConnected) }
            seenFirstConnection = true
        }
    }

    private nonisolated func receiveFromExecutors() async {
        for await message in executorRouter.messages { inbox.post(.executor(message)) }
    }

    /// A task the kernel killed for exceeding its container's memory limit is
    /// reported with the memory-limit reason, whatever the executor saw.
    private func annotateMemoryLimit(_ call: inout Agora_V1_Executor_Call) {
        guard let isolator, call.update.status.state == .taskFailed else { return }
        let key = ExecutorKey(frameworkID: call.frameworkID.value, executorID: call.executorID.value)
        let task = AgentTaskKey(frameworkID: key.frameworkID, taskID: call.update.status.taskID.value)
        guard let containerID = core.tasks[task]?.containerID ?? core.executors[key]?.containerID,
              isolator.memoryLimitReached(containerID: containerID) else { return }
        call.update.status.reason = .containerLimitationMemory
        call.update.status.message = "memory limit exceeded: " + call.update.status.message
    }

    private nonisolated func runTimers() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            inbox.post(.tick)
        }
    }

    // MARK: - Directives

    /// Carries out the core's directives in order, except messages: those are held
    /// until `commit()` has written the checkpoint of the batch that produced them
    /// (which is how `.checkpointUpdate` and `.checkpointAgentID` are honoured). Every
    /// call follows a change of the core, which readers of `/state` are to see.
    private func perform(_ directives: [AgentDirective]) {
        snapshots.noteChange()
        for directive in directives {
            switch directive {
            case .sendToMaster(let envelope):
                heldMessages.append(.toMaster(envelope))
            case .sendToExecutor(let envelope, let peer):
                heldMessages.append(.toExecutor(envelope, peer))
            case .launchExecutor(let launch):
                launchExecutor(launch)
            case .launchTask(let launch):
                launchTask(launch)
            case .destroyContainer(let key, let containerID, let grace):
                destroyContainer(key: key, containerID: containerID, grace: grace)
            case .checkpointUpdate, .checkpointAgentID:
                break
            case .scheduleSandboxRemoval(let key, let containerID):
                guard let path = try? Sandbox(workDir: options.workDirectory, frameworkID: key.frameworkID,
                                              executorID: key.executorID, containerID: containerID).path else { break }
                let delay = options.sandboxRetention
                Task.detached {
                    try? await Task.sleep(for: delay)
                    try? FileManager.default.removeItem(atPath: path)
                }
            case .log(let message):
                logger.info("\(message)")
            }
        }
    }

    private func launchExecutor(_ launch: ExecutorLaunch) {
        do {
            if launch.program == .builtIn { try Self.checkBuiltInExecutor(at: options.builtInExecutorPath) }
            let sandbox = try Sandbox.create(workDir: options.workDirectory, frameworkID: launch.key.frameworkID,
                                             executorID: launch.key.executorID, containerID: launch.containerID).path
            var environment = taskEnvironment(sandbox: sandbox, taskID: "", frameworkID: launch.key.frameworkID,
                                              ports: launch.ports)
            environment["AGORA_TASK_ID"] = nil
            environment["AGORA_AGENT_ENDPOINT"] = executorEndpoint
            environment["AGORA_EXECUTOR_ID"] = launch.key.executorID
            environment["AGORA_CONTAINER_ID"] = launch.containerID
            environment["AGORA_RECOVERY_TIMEOUT_SECONDS"] = String(options.executorRecoveryTimeout.seconds)
            if launch.isShared { environment["AGORA_EXECUTOR_SHARED"] = "1" }

            if let isolator {
                if launch.isShared {
                    // Its tasks have containers of their own; the executor's is for itself,
                    // with the cpu weight of a tenth of a core and no quota, so that
                    // starting and watching many tasks is never throttled.
                    try isolator.create(containerID: launch.containerID, cpus: Self.sharedExecutorCPUs,
                                        memoryMB: Self.sharedExecutorMemoryMB, cfsQuota: false)
                } else {
                    // The built-in executor lives in the container too; its own footprint is
                    // added so the task gets the memory it asked for.
                    let overhead = launch.program == .builtIn ? Self.builtInExecutorMemoryMB : 0
                    try isolator.create(containerID: launch.containerID, cpus: launch.resources.cpus.doubleValue,
                                        memoryMB: launch.resources.mem.doubleValue + overhead, cfsQuota: options.cfsQuota)
                }
            }
            let spec: SpawnSpec
            switch launch.program {
            case .builtIn:
                spec = SpawnSpec(command: options.builtInExecutorPath, environment: environment,
                                 workingDirectory: sandbox, stdoutPath: sandbox + "/executor.stdout",
                                 stderrPath: sandbox + "/executor.stderr")
            case .custom(let command):
                environment.merge(command.environment.dictionary) { _, new in new }
                let shell = !command.hasShell || command.shell
                // Without a shell, `arguments` is the whole argv (Mesos convention).
                spec = SpawnSpec(command: shell || !command.value.isEmpty ? command.value : command.arguments.first ?? "",
                                 shell: shell, arguments: shell ? [] : Array(command.arguments.dropFirst()),
                                 environment: environment, workingDirectory: sandbox,
                                 stdoutPath: sandbox + "/stdout", stderrPath: sandbox + "/stderr")
            }
            let pid = try ChildProcessMonitor.shared.spawn(spec)
            if let isolator {
                do {
                    try isolator.add(pid: pid, containerID: launch.containerID)
                } catch {
                    logger.warning("could not move executor \(pid) into its cgroup: \(error)")
                }
            }
            containers[launch.containerID] = pid
            logger.info("started \(launch.key) as pid \(pid) in \(sandbox)")
            let key = launch.key
            let containerID = launch.containerID
            let inbox = inbox
            Task {
                let status = await ChildProcessMonitor.shared.waitForExit(pid)
                inbox.post(.executorExited(key, containerID: containerID, status: status))
            }
        } catch {
            logger.error("could not start \(launch.key): \(error)")
            if let isolator { Task { try? await isolator.destroy(containerID: launch.containerID) } }
            perform(core.executorLaunchFailed(launch.key, containerID: launch.containerID,
                                              message: "could not start the executor: \(error)", now: now))
        }
    }

    /// Makes a command task's own container (sandbox and cgroup with the task's limits)
    /// and hands the task to its shared executor with the container's directory,
    /// cgroups and environment; if the container cannot be made, the task fails and the
    /// executor never hears of it.
    private func launchTask(_ launch: TaskContainerLaunch) {
        guard let task = core.tasks[launch.task] else { return }
        do {
            let sandbox = try Sandbox.create(workDir: options.workDirectory, frameworkID: launch.executor.frameworkID,
                                             executorID: launch.executor.executorID, containerID: launch.containerID).path
            let environment = taskEnvironment(sandbox: sandbox, taskID: launch.task.taskID,
                                              frameworkID: launch.task.frameworkID, ports: launch.ports,
                                              user: task.info.command.environment.dictionary)
            let resources = launch.resources
            var cgroups: [String] = []
            if let isolator {
                try isolator.create(containerID: launch.containerID, cpus: resources.cpus.doubleValue,
                                    memoryMB: resources.mem.doubleValue, cfsQuota: options.cfsQuota)
                cgroups = isolator.directories(containerID: launch.containerID)
            }
            var event = launch.event
            event.launch.container.directory = sandbox
            event.launch.container.cgroups = cgroups
            event.launch.container.environment = Agora_V1_Environment(environment)
            var envelope = Agora_V1_Envelope()
            envelope.executorEvent = event
            heldMessages.append(.toExecutor(envelope, launch.peer))
        } catch {
            logger.error("could not make the container of task \(launch.task): \(error)")
            perform(core.taskContainerFailed(launch.task, containerID: launch.containerID,
                                             message: "could not make the task's container: \(error)", now: now))
        }
    }

    /// The environment of a task (or of an executor, which passes it on to its tasks) in
    /// `sandbox`: `Sandbox.environment`, plus `HOME` (the sandbox) and `PORT` (the first
    /// port) unless the task sets them.
    private func taskEnvironment(sandbox: String, taskID: String, frameworkID: String, ports: [UInt64],
                                 user: [String: String] = [:]) -> [String: String] {
        var environment = Sandbox.environment(sandbox: sandbox, taskID: taskID, frameworkID: frameworkID,
                                              agentID: core.agentID ?? "", hostname: core.configuration.agentInfo.hostname,
                                              ports: ports, user: user)
        environment["HOME"] = environment["HOME"] ?? sandbox
        if let first = ports.first { environment["PORT"] = environment["PORT"] ?? String(first) }
        return environment
    }

    /// Fails, before any sandbox or cgroup is made, when the built-in executor program
    /// is not there to start.
    static func checkBuiltInExecutor(at path: String) throws(SpawnError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SpawnError(.executableNotFound, "the built-in executor program \(path) is missing "
                + "(agora-executor belongs in the same directory as agora)")
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SpawnError(.notExecutable, "the built-in executor program \(path) is not executable")
        }
    }

    private func executorProcessExited(_ key: ExecutorKey, containerID: String, status: ExitStatus) {
        containers[containerID] = nil
        unsupervised[containerID] = nil
        let memoryLimitReached = isolator?.memoryLimitReached(containerID: containerID) ?? false
        let rawStatus: Int32 = switch status {
        case .exited(let code): code << 8
        case .signaled(let signal): signal
        }
        logger.info("\(key) \(status)")
        perform(core.executorExited(key, containerID: containerID, status: rawStatus, description: status.description,
                                    memoryLimitReached: memoryLimitReached, now: now))
    }

    /// The kill policy for an executor that is not our child (we cannot wait for it).
    static func terminateUnsupervised(processGroup pid: pid_t, containerID: String, gracePeriod: Duration) async {
        if gracePeriod > .zero {
            Foundation.kill(-pid, SIGTERM)
            let deadline = ContinuousClock.now + gracePeriod
            while ContinuousClock.now < deadline, isExecutorAlive(pid: pid, containerID: containerID) {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        Foundation.kill(-pid, SIGKILL)
    }

    private func destroyAllContainers() async {
        let isolator = isolator
        // Command tasks of shared executors live in containers of their own.
        let taskContainers = core.tasks.values.filter { !$0.state.isTerminal }.compactMap(\.containerID)
        await withTaskGroup(of: Void.self) { group in
            if let isolator {
                for containerID in taskContainers {
                    group.addTask { try? await isolator.destroy(containerID: containerID) }
                }
            }
            for (containerID, pid) in containers {
                let adopted = unsupervised[containerID] != nil
                group.addTask {
                    if adopted {
                        await Self.terminateUnsupervised(processGroup: pid, containerID: containerID, gracePeriod: .seconds(3))
                    } else {
                        _ = await KillPolicy.terminate(processGroup: pid, gracePeriod: .seconds(3))
                    }
                    if let isolator { try? await isolator.destroy(containerID: containerID) }
                }
            }
        }
        containers = [:]
    }

    private func destroyContainer(key: ExecutorKey, containerID: String, grace: Duration) {
        let pid = containers[containerID]
        let isolator = isolator
        let adopted = unsupervised[containerID] != nil
        Task.detached {
            if let pid, adopted {
                await Self.terminateUnsupervised(processGroup: pid, containerID: containerID, gracePeriod: grace)
            } else if let pid {
                _ = await KillPolicy.terminate(processGroup: pid, gracePeriod: grace)
            }
            if let isolator { try? await isolator.destroy(containerID: containerID) }
        }
    }

    // MARK: - Checkpoints

    /// Ends a batch: writes the checkpoint when the batch changed it, then sends the
    /// batch's messages. No message leaves before the state that produced it is on
    /// disk; if the write fails they stay held, and the next batch (at the latest the
    /// next timer tick) tries again.
    private func commit() {
        do {
            if let document = try checkpointEncoder.encode(core, pids: containers), document != writtenCheckpoint {
                try Self.writeDurably(document, to: checkpointPath)
                writtenCheckpoint = document
            }
            if checkpointFailing {
                checkpointFailing = false
                logger.notice("the agent's checkpoint \(checkpointPath) is written again")
            }
        } catch {
            if !checkpointFailing {
                logger.error("could not write the agent's checkpoint \(checkpointPath), holding \(heldMessages.count) message(s) until it works: \(error)")
            }
            checkpointFailing = true
            return
        }
        let messages = heldMessages
        heldMessages = []
        for message in messages {
            switch message {
            case .toMaster(let envelope):
                do { try master.trySend(envelope) } catch {
                    logger.warning("could not queue a message for the master: \(error)")
                }
            case .toExecutor(let envelope, let peer):
                do { try executorRouter.trySend(envelope, to: peer) } catch {
                    logger.warning("could not queue a message for an executor: \(error)")
                }
            }
        }
    }

    /// Writes `data` to a temporary file, fsyncs it and renames it over `path`, so a
    /// crash leaves either the old or the new file, never half of one.
    static func writeDurably(_ data: Data, to path: String) throws {
        func failure() -> POSIXError { POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure() }
        defer { close(fd) }
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw failure() }
            offset += written
        }
        guard fsync(fd) == 0, rename(temporary, path) == 0 else { throw failure() }
    }

    /// A message waiting in `heldMessages` for its batch's checkpoint.
    private enum HeldMessage {
        case toMaster(Agora_V1_Envelope)
        case toExecutor(Agora_V1_Envelope, PeerID)
    }

    // MARK: - Snapshots

    /// The `/state` document (only when asked for: encoding it is the cost) and the
    /// `/metrics` text of the agent as it is now.
    private func snapshotDocuments(includingState: Bool) -> (state: Data?, metrics: Data) {
        let view = AgentStateView(core: core, workDirectory: options.workDirectory, isolation: isolator.map { "cgroup \($0.version)" } ?? "posix")
        var state: Data?
        if includingState {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            state = (try? encoder.encode(view)) ?? Data("{}".utf8)
        }
        return (state, Data(view.metricsText(core.counters).utf8))
    }
}

/// The agent's `/state` document.
///
/// `directory` is the absolute path of a task's files (`stdout`, `stderr`, fetched
/// URIs) and of an executor's sandbox, for `/files/read`. Tasks that ended and were
/// acknowledged are listed in `completedTasks` (the latest 1,000), with the directory
/// their files were in: it stays readable until the sandbox is removed
/// (`--sandbox-retention`).
struct AgentStateView: Codable {
    struct Task: Codable {
        var id: String
        var frameworkID: String
        var executorID: String
        var state: String
        var directory: String?
    }

    struct Executor: Codable {
        var id: String
        var frameworkID: String
        var containerID: String
        var phase: String
        var tasks: [String]
        var directory: String?
    }

    var agentID: String?
    var registered: Bool
    var hostname: String
    var workDirectory: String
    var isolation: String
    var tasks: [Task]
    var completedTasks: [Task]
    var executors: [Executor]
    var unacknowledgedUpdates: Int

    init(core: AgentCore, workDirectory: String, isolation: String) {
        agentID = core.agentID
        registered = core.registration == .registered
        hostname = core.configuration.agentInfo.hostname
        self.workDirectory = workDirectory
        self.isolation = isolation
        tasks = core.tasks.values.sorted { $0.key < $1.key }.map { task in
            let executor = core.executors[ExecutorKey(frameworkID: task.key.frameworkID, executorID: task.executorID)]
            return Task(id: task.key.taskID, frameworkID: task.key.frameworkID, executorID: task.executorID,
                        state: task.state.name,
                        directory: executor.flatMap {
                            Self.taskDirectory(task, containerID: $0.containerID, isBuiltIn: $0.isBuiltIn,
                                               workDirectory: workDirectory)
                        })
        }
        completedTasks = core.completedTasks.map { task in
            Task(id: task.key.taskID, frameworkID: task.key.frameworkID, executorID: task.executorID,
                 state: task.state.name,
                 directory: task.endedContainer.flatMap { container in
                     Self.taskDirectory(task, containerID: container.containerID, isBuiltIn: container.isBuiltIn,
                                        workDirectory: workDirectory)
                 })
        }
        executors = core.executors.values.sorted { $0.key < $1.key }.map {
            Executor(id: $0.key.executorID, frameworkID: $0.key.frameworkID, containerID: $0.containerID,
                     phase: "\($0.phase)", tasks: $0.tasks.sorted(),
                     directory: Self.sandbox(of: $0, workDirectory: workDirectory))
        }
        unacknowledgedUpdates = core.unacknowledgedUpdateCount
    }

    static func sandbox(of executor: AgentExecutor, workDirectory: String) -> String? {
        sandbox(frameworkID: executor.key.frameworkID, executorID: executor.key.executorID,
                containerID: executor.containerID, workDirectory: workDirectory)
    }

    static func sandbox(frameworkID: String, executorID: String, containerID: String, workDirectory: String) -> String? {
        try? Sandbox(workDir: workDirectory, frameworkID: frameworkID, executorID: executorID, containerID: containerID).path
    }

    /// Where the task's files are: the sandbox of its own container for a command task
    /// (run by its framework's shared executor), the executor's sandbox for a custom
    /// executor's task, `sandbox/tasks/<taskID>` for a task of a group run by the
    /// built-in executor (see `BuiltInExecutor`).
    static func taskDirectory(_ task: AgentTask, containerID: String, isBuiltIn: Bool, workDirectory: String) -> String? {
        if let own = task.containerID {
            return sandbox(frameworkID: task.key.frameworkID, executorID: task.executorID, containerID: own,
                           workDirectory: workDirectory)
        }
        guard let sandbox = sandbox(frameworkID: task.key.frameworkID, executorID: task.executorID,
                                    containerID: containerID, workDirectory: workDirectory) else { return nil }
        let isCommandTask = !task.info.hasExecutor && task.executorID == task.key.taskID
        guard isBuiltIn, !isCommandTask else { return sandbox }
        guard (try? Sandbox.validateID(task.key.taskID, kind: "task ID")) != nil else { return nil }
        return sandbox + "/tasks/" + task.key.taskID
    }

    func metricsText(_ counters: AgentCounters) -> String {
        let samples: [(String, String, Int)] = [
            ("tasks_launched_total", "Tasks handed to this agent.", counters.tasksLaunched),
            ("status_updates_sent_total", "Status updates sent to the master, retries included.", counters.statusUpdatesSent),
            ("status_update_retries_total", "Status updates re-sent for lack of an acknowledgement.", counters.statusUpdateRetries),
            ("acknowledgements_total", "Acknowledgements received.", counters.acknowledgements),
            ("executors_launched_total", "Executors started.", counters.executorsLaunched),
            ("executors_exited_total", "Executors that ended.", counters.executorsExited),
            ("invalid_messages_total", "Messages refused as invalid.", counters.invalidMessages),
        ]
        var lines: [String] = []
        for (name, help, value) in samples {
            lines.append("# HELP agora_agent_\(name) \(help)")
            lines.append("# TYPE agora_agent_\(name) counter")
            lines.append("agora_agent_\(name) \(value)")
        }
        lines.append("# HELP agora_agent_registered Whether the master has admitted this agent.")
        lines.append("# TYPE agora_agent_registered gauge")
        lines.append("agora_agent_registered \(registered ? 1 : 0)")
        lines.append("# HELP agora_agent_tasks Tasks on this agent by state.")
        lines.append("# TYPE agora_agent_tasks gauge")
        var byState: [String: Int] = [:]
        for task in tasks { byState[task.state, default: 0] += 1 }
        for state in byState.keys.sorted() { lines.append("agora_agent_tasks{state=\"\(state)\"} \(byState[state]!)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The agent cannot start with what it found in its work dir.
public struct AgentStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
