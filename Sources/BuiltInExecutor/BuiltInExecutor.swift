import AgoraProto
import Foundation
import Logging
import Messaging
import ProcessSupervision

/// Agora's built-in executor (the `agora-executor` program), started by the agent in each
/// container for command tasks and task groups.
///
/// It subscribes to its agent over `ipc://`, starts each task as its own process
/// group, reports TASK_RUNNING and the terminal state with reliable updates (re-sent
/// until the agent acknowledges them), applies the kill policy (SIGTERM, grace,
/// SIGKILL of the whole group), and, in a group, kills the other tasks when one fails.
/// Before a task starts it fetches the task's `CommandInfo.uris` into its directory
/// (see ``URIFetcher``); while it runs it runs the task's `HealthCheck` (see
/// ``HealthCheckTracker``), reporting health changes as TASK_RUNNING updates with
/// `healthy` set and killing the task after too many failures in a row.
/// It exits once every task has ended and every update is acknowledged; a *shared*
/// executor (`AGORA_EXECUTOR_SHARED=1`: the one an agent runs for all command tasks
/// of a framework) starts each task in the container the agent made for it and keeps
/// running until the agent shuts it down.
public actor BuiltInExecutor {
    struct RunningTask {
        var info: Agora_V1_TaskInfo
        var processGroup: pid_t?
        var state: Agora_V1_TaskState
        var killRequested = false
        /// Why the health check killed the task, for its terminal update.
        var healthFailure: String?
        var healthTracker: HealthCheckTracker?
        var healthChecks: Task<Void, Never>?
    }

    private let frameworkID: String
    private let executorID: String
    private let sandbox: String
    /// Runs the command tasks of its framework, each in its own container, and exits
    /// only when told to (`SHUTDOWN`) or when its agent is gone for good.
    private let isShared: Bool
    private let agent: DealerEndpoint
    private let logger: Logger
    private let defaultGracePeriod: Duration = .seconds(3)
    private let startedAt = ContinuousClock.now
    private let fetcher = URIFetcher()
    private var subscribed = false
    private var isGroup = false
    private var tasks: [String: RunningTask] = [:]
    private var unacknowledged: [Data: Agora_V1_TaskStatus] = [:]
    private var order: [Data] = []
    private var shuttingDown = false
    private var finished: CheckedContinuation<Void, Never>?
    private var done = false
    /// How long the executor waits for a lost agent to come back (a restarting agent
    /// reconnects within seconds) before it kills its tasks and exits, as Mesos'
    /// `--recovery_timeout`: an agent that never returns leaves nothing running.
    private let recoveryTimeout: Duration
    /// Since when the executor has been without its agent: from its start until it is
    /// subscribed, and from a lost connection until it is subscribed again.
    private var unsubscribedSince: Duration? = .zero

    /// Reads its identity from the environment the agent provides.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) throws {
        guard let endpoint = environment["AGORA_AGENT_ENDPOINT"], let frameworkID = environment["AGORA_FRAMEWORK_ID"],
              let executorID = environment["AGORA_EXECUTOR_ID"] else {
            let missing = ["AGORA_AGENT_ENDPOINT", "AGORA_FRAMEWORK_ID", "AGORA_EXECUTOR_ID"].filter { environment[$0] == nil }
            throw ExecutorError("\(missing.joined(separator: ", ")) not set: the executor is started by an agent, which sets them")
        }
        self.frameworkID = frameworkID
        self.executorID = executorID
        self.sandbox = environment["AGORA_SANDBOX"] ?? FileManager.default.currentDirectoryPath
        self.isShared = environment["AGORA_EXECUTOR_SHARED"] == "1"
        if let text = environment["AGORA_RECOVERY_TIMEOUT_SECONDS"], !text.isEmpty {
            guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
                throw ExecutorError("AGORA_RECOVERY_TIMEOUT_SECONDS must be a positive number of seconds (got \"\(text)\")")
            }
            self.recoveryTimeout = .seconds(fractional: seconds)
        } else {
            self.recoveryTimeout = .seconds(15 * 60)
        }
        self.agent = try DealerEndpoint(connectingTo: endpoint, logger: logger)
        self.logger = logger
    }

    /// Runs until every task has ended and been acknowledged, or the agent says shut down.
    /// SIGTERM (the agent destroying the container, under any isolation) kills every
    /// task, SIGKILL after ``terminationGrace``, and ends the executor.
    public func run() async {
        signal(SIGTERM, SIG_IGN)
        let terminations = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        terminations.setEventHandler { Task { await self.giveUp("SIGTERM", grace: Self.terminationGrace) } }
        terminations.resume()
        defer { terminations.cancel() }
        let receiver = Task { await self.receive() }
        let timers = Task { await self.resendPeriodically() }
        let watcher = Task { await self.watchConnection() }
        await withCheckedContinuation { continuation in
            if done { continuation.resume() } else { finished = continuation }
        }
        receiver.cancel()
        timers.cancel()
        watcher.cancel()
        await agent.shutdown()
    }

    private func receive() async {
        for await envelope in agent.messages {
            guard case .executorEvent(let event) = envelope.payload else { continue }
            await handle(event)
        }
    }

    /// When the agent restarts, the ipc connection drops and comes back: subscribe
    /// again, with every unacknowledged update.
    private func watchConnection() async {
        var lost = false
        for await event in agent.events {
            switch event {
            case .disconnected:
                lost = true
                if unsubscribedSince == nil { unsubscribedSince = now }
            case .connected where lost:
                lost = false
                subscribed = false
                logger.info("the agent is back; subscribing again")
                sendSubscribe()
            default:
                break
            }
        }
    }

    private func resendPeriodically() async {
        while !Task.isCancelled {
            if let since = unsubscribedSince, now - since >= recoveryTimeout {
                await giveUp("no agent for \(recoveryTimeout)", grace: defaultGracePeriod)
                return
            }
            if !subscribed {
                sendSubscribe()
            } else {
                for uuid in order { if let status = unacknowledged[uuid] { sendUpdate(status) } }
            }
            try? await Task.sleep(for: subscribed ? .seconds(2) : .milliseconds(500))
        }
    }

    private func handle(_ event: Agora_V1_Executor_Event) async {
        switch event.type {
        case .subscribed:
            subscribed = true
            unsubscribedSince = nil
            logger.info("subscribed to the agent as \(executorID)")
        case .launch:
            await launch(event.launch.task, container: event.launch.hasContainer ? event.launch.container : nil)
        case .launchGroup:
            isGroup = true
            for task in event.launchGroup.taskGroup.tasks { await launch(task) }
        case .kill:
            let grace = event.kill.hasKillPolicy ? Self.duration(event.kill.killPolicy.gracePeriod) : nil
            await kill(event.kill.taskID.value, grace: grace)
        case .acknowledged:
            let taskID = unacknowledged.removeValue(forKey: event.acknowledged.uuid)?.taskID.value
            order.removeAll { $0 == event.acknowledged.uuid }
            if isShared, let taskID { forgetIfSettled(taskID) }
            finishIfDone()
        case .shutdown:
            shuttingDown = true
            for taskID in tasks.keys.sorted() { await kill(taskID, grace: nil) }
            finishIfDone()
        case .error:
            logger.error("the agent reported an error: \(event.error.message)")
        default:
            break
        }
    }

    private func launch(_ task: Agora_V1_TaskInfo, container: Agora_V1_Executor_Event.TaskContainer? = nil) async {
        let taskID = task.taskID.value
        guard tasks[taskID] == nil else { return }
        tasks[taskID] = RunningTask(info: task, state: .taskStaging)
        if shuttingDown {
            report(taskID, state: .taskKilled, message: "the executor is shutting down")
            return
        }
        // A task with a container of its own comes with its whole environment, its own
        // variables included; otherwise it inherits the executor's.
        var environment: [String: String]
        if let container {
            environment = container.environment.dictionary
        } else {
            environment = ProcessInfo.processInfo.environment
            environment["AGORA_TASK_ID"] = taskID
            environment.merge(task.command.environment.dictionary) { _, own in own }
        }
        // A task with a container of its own uses the directory made for it; in a group
        // each task gets its own directory; a single task uses the sandbox.
        var directory = sandbox
        if let container, !container.directory.isEmpty {
            directory = container.directory
        } else if isGroup || isShared {
            directory = sandbox + "/tasks/" + taskID
        }
        if directory != sandbox {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var healthCheck: HealthCheckSpec?
        if task.hasHealthCheck {
            do {
                healthCheck = try HealthCheckSpec(task.healthCheck, directory: directory, environment: environment)
            } catch {
                report(taskID, state: .taskFailed, message: "invalid health check: \(error)", reason: .taskInvalid)
                await taskEndedBadly(taskID)
                return
            }
        }
        if !task.command.uris.isEmpty {
            do {
                try await fetcher.fetchAll(task.command.uris, into: directory)
            } catch {
                logger.warning("task \(taskID): \(error)")
                report(taskID, state: .taskFailed, message: error.description, reason: .containerLaunchFailed)
                await taskEndedBadly(taskID)
                return
            }
            // A kill or shutdown may have come while fetching.
            guard let current = tasks[taskID], !current.killRequested, !current.state.isTerminal else { return }
        }
        let command = task.command
        let shell = !command.hasShell || command.shell
        // Mesos convention: without a shell, `arguments` is the whole argv, argv[0] first.
        let spec = SpawnSpec(command: shell || !command.value.isEmpty ? command.value : command.arguments.first ?? "",
                             shell: shell, arguments: shell ? [] : Array(command.arguments.dropFirst()),
                             environment: environment, workingDirectory: directory,
                             stdoutPath: directory + "/stdout", stderrPath: directory + "/stderr",
                             cgroups: container?.cgroups ?? [])
        do {
            let pid = try ChildProcessMonitor.shared.spawn(spec)
            tasks[taskID]?.processGroup = pid
            logger.info("task \(taskID) started as pid \(pid)")
            report(taskID, state: .taskRunning, message: "started as pid \(pid)")
            Task {
                let status = await ChildProcessMonitor.shared.waitForExit(pid)
                await self.taskExited(taskID, status: status)
            }
            if let healthCheck { startHealthChecks(taskID, healthCheck) }
        } catch {
            report(taskID, state: .taskFailed, message: "could not start the command: \(error)",
                   reason: .commandExecutorFailed)
            await taskEndedBadly(taskID)
        }
    }

    private func taskExited(_ taskID: String, status: ExitStatus) async {
        guard let task = tasks[taskID] else { return }
        task.healthChecks?.cancel()
        if let group = task.processGroup { _ = Foundation.kill(-group, SIGKILL) }  // no leftovers
        let code: Int32? = if case .exited(let value) = status { value } else { nil }
        if let failure = task.healthFailure {
            report(taskID, state: .taskKilled, message: "killed because \(failure) (the command \(status))", exitCode: code,
                   healthy: false)
            await taskEndedBadly(taskID)
        } else if task.killRequested {
            report(taskID, state: .taskKilled, message: "killed: the command \(status)", exitCode: code)
        } else if status.isSuccess {
            report(taskID, state: .taskFinished, message: "the command exited with status 0", exitCode: 0)
        } else {
            report(taskID, state: .taskFailed, message: "the command \(status)", exitCode: code,
                   reason: .commandExecutorFailed)
            await taskEndedBadly(taskID)
        }
    }

    /// In a task group, one failure (or a kill by its health check) ends the others.
    private func taskEndedBadly(_ taskID: String) async {
        guard isGroup else { return }
        for other in tasks.keys.sorted() where other != taskID {
            await kill(other, grace: nil)
        }
    }

    private func kill(_ taskID: String, grace: Duration?) async {
        guard var task = tasks[taskID], !task.state.isTerminal, !task.killRequested else { return }
        task.killRequested = true
        tasks[taskID] = task
        guard let group = task.processGroup else {
            report(taskID, state: .taskKilled, message: "killed before it started")
            return
        }
        report(taskID, state: .taskKilling, message: task.healthFailure.map { "\($0); sending SIGTERM" } ?? "sending SIGTERM",
               healthy: task.healthFailure == nil ? nil : false)
        let gracePeriod = grace ?? (task.info.hasKillPolicy ? Self.duration(task.info.killPolicy.gracePeriod) : nil)
            ?? defaultGracePeriod
        // The exit itself is reported by the launch path once the process is reaped;
        // the kill runs apart so that events keep flowing meanwhile.
        Task.detached { _ = await KillPolicy.terminate(processGroup: group, gracePeriod: gracePeriod) }
    }

    private func report(_ taskID: String, state: Agora_V1_TaskState, message: String, exitCode: Int32? = nil,
                        reason: Agora_V1_TaskStatus.Reason? = nil, healthy: Bool? = nil) {
        guard var task = tasks[taskID], !task.state.isTerminal else { return }
        task.state = state
        tasks[taskID] = task
        var status = Agora_V1_TaskStatus()
        status.taskID.value = taskID
        status.state = state
        status.message = message
        status.source = .executor
        status.executorID.value = executorID
        status.timestamp = Date().timeIntervalSince1970
        status.uuid = withUnsafeBytes(of: UUID().uuid) { Data($0) }
        if let reason { status.reason = reason }
        if let healthy { status.healthy = healthy }
        if let exitCode {
            var label = Agora_V1_Label()
            label.key = "exit_code"
            label.value = String(exitCode)
            status.labels.labels = [label]
        }
        unacknowledged[status.uuid] = status
        order.append(status.uuid)
        sendUpdate(status)
    }

    // MARK: - Health checks

    /// Time on the executor's monotonic clock, the health trackers' time base.
    private var now: Duration { ContinuousClock.now - startedAt }

    private func startHealthChecks(_ taskID: String, _ check: HealthCheckSpec) {
        let tracker = HealthCheckTracker(policy: check.policy, taskStartedAt: now)
        guard case .runCheck(let first) = tracker.firstCheck else { return }
        tasks[taskID]?.healthTracker = tracker
        tasks[taskID]?.healthChecks = Task {
            var next: Duration? = first
            while let at = next, !Task.isCancelled {
                do { try await Task.sleep(until: startedAt + at, clock: .continuous) } catch { return }
                let outcome = await check.probe.run(timeout: check.policy.timeout)
                next = await healthCheckCompleted(taskID, outcome)
            }
        }
    }

    /// Feeds one result to the task's tracker and carries out its directives; returns
    /// when the next check is due, or nil to stop checking.
    private func healthCheckCompleted(_ taskID: String, _ outcome: HealthCheckOutcome) async -> Duration? {
        guard let task = tasks[taskID], task.state == .taskRunning, !task.killRequested,
              var tracker = task.healthTracker else { return nil }
        let directives = tracker.checkCompleted(outcome, now: now)
        tasks[taskID]?.healthTracker = tracker
        var next: Duration?
        for directive in directives {
            switch directive {
            case .runCheck(let at):
                next = at
            case .reportHealth(let healthy, let message):
                logger.info("task \(taskID): \(message)")
                report(taskID, state: .taskRunning, message: message, reason: .taskHealthCheckStatusUpdated,
                       healthy: healthy)
            case .killTask(let message):
                logger.notice("task \(taskID): \(message); killing it")
                tasks[taskID]?.healthFailure = message
                await kill(taskID, grace: nil)
            }
        }
        return next
    }

    private func sendSubscribe() {
        var call = Agora_V1_Executor_Call()
        call.type = .subscribe
        call.frameworkID.value = frameworkID
        call.executorID.value = executorID
        call.subscribe.unacknowledgedUpdates = order.compactMap { unacknowledged[$0] }.map { status in
            var update = Agora_V1_Executor_Call.Update()
            update.status = status
            return update
        }
        send(call)
    }

    private func sendUpdate(_ status: Agora_V1_TaskStatus) {
        var call = Agora_V1_Executor_Call()
        call.type = .update
        call.frameworkID.value = frameworkID
        call.executorID.value = executorID
        call.update.status = status
        send(call)
    }

    private func send(_ call: Agora_V1_Executor_Call) {
        var envelope = Agora_V1_Envelope()
        envelope.executorCall = call
        do { try agent.trySend(envelope) } catch {
            logger.warning("could not queue a message for the agent: \(error)")
        }
    }

    /// How long tasks get between SIGTERM and SIGKILL when the executor itself is told to
    /// terminate: less than the agent's own grace for the executor (3 s), so the executor
    /// outlives its tasks.
    static let terminationGrace: Duration = .seconds(2)

    /// Kills every task (with `grace`, not the task's own, which may outlast the wait
    /// below: the executor must not exit before the SIGKILL) and exits once they are
    /// gone, whether or not their updates can still be delivered: for an agent that
    /// stayed away past the recovery timeout, or a SIGTERM.
    private func giveUp(_ reason: String, grace: Duration) async {
        guard !done else { return }
        logger.warning("\(reason): killing the tasks and exiting")
        shuttingDown = true
        for taskID in tasks.keys.sorted() { await kill(taskID, grace: grace) }
        let deadline = now + grace + .seconds(5)
        while !tasks.values.allSatisfy({ $0.state.isTerminal }), now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        done = true
        finished?.resume()
        finished = nil
    }

    /// A shared executor forgets a task once it has ended and its updates are
    /// acknowledged, so a long-lived executor keeps only what still runs.
    private func forgetIfSettled(_ taskID: String) {
        guard tasks[taskID]?.state.isTerminal == true,
              !unacknowledged.values.contains(where: { $0.taskID.value == taskID }) else { return }
        tasks[taskID] = nil
    }

    private func finishIfDone() {
        let allEnded = !isShared && !tasks.isEmpty && tasks.values.allSatisfy { $0.state.isTerminal }
        guard (allEnded || (shuttingDown && tasks.values.allSatisfy { $0.state.isTerminal })), unacknowledged.isEmpty else { return }
        done = true
        finished?.resume()
        finished = nil
    }

    static func duration(_ info: Agora_V1_DurationInfo) -> Duration {
        .nanoseconds(max(0, info.nanoseconds))
    }
}

/// The executor was started without what it needs.
public struct ExecutorError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
