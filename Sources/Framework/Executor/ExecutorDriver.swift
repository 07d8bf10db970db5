import AgoraProto
import Foundation
import Logging
import Messaging

/// Connects an `Executor` to the agent that started this process: subscribes over the
/// agent's `ipc://` socket, hands events to the executor, and delivers its status
/// updates reliably (each carries a fresh UUID and is sent again until the agent
/// acknowledges it, including after the agent restarts).
///
/// ```swift
/// let driver = try ExecutorDriver(executor: MyExecutor())  // reads AGORA_* from the environment
/// try await driver.start()
/// await driver.run()  // returns after something calls `driver.stop()`
/// ```
///
/// Protocol work (SUBSCRIBE retries, acknowledgements, re-sending updates,
/// re-subscribing after a lost connection) goes on while a callback runs, so callbacks
/// may be slow and may call the driver, `stop()` included.
public actor ExecutorDriver {
    private enum Phase { case idle, running, stopping, stopped }

    /// What reaches the executor, in order, through one task.
    private enum Callback: Sendable {
        case registered(Agora_V1_Executor_Event.Subscribed)
        case reregistered(Agora_V1_Executor_Event.Subscribed)
        case disconnected
        case event(Agora_V1_Executor_Event)
        /// The agent stayed away past the recovery timeout.
        case abandoned
    }

    /// Who this executor is and where its agent listens.
    public nonisolated let environment: ExecutorEnvironment

    private let executor: any Executor
    private var logger: Logger
    private var session: ExecutorSession
    private let tickInterval: Duration
    private let clock = ContinuousClock()
    private let createdAt: ContinuousClock.Instant
    private var phase = Phase.idle
    private var endpoint: DealerEndpoint?
    /// Envelopes queued on `endpoint`, to tell when ZeroMQ has taken them all.
    private var transmitted = 0
    private var lastTransmitAt: ContinuousClock.Instant?
    private var callbacks: AsyncStream<Callback>.Continuation?
    private var callbackTask: Task<Void, Never>?
    private var inputTasks: [Task<Void, Never>] = []
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    private var acknowledgementWaiters: [CheckedContinuation<Void, Never>] = []

    /// A driver for `executor`, identified by the `AGORA_*` variables the agent sets in
    /// the executor's environment; nothing happens until `start()`.
    ///
    /// - Throws: `missingEnvironment`, naming each missing variable, when the process was
    ///   not started by an agent.
    public init(executor: some Executor, environment: [String: String] = ProcessInfo.processInfo.environment,
                logger: Logger = Logger(label: "agora.executor")) throws(ExecutorDriverError) {
        let identity = try ExecutorEnvironment(environment)
        self.init(executor: executor, environment: identity, logger: logger,
                  timing: ExecutorSession.Timing.forAgent(of: identity), tickInterval: .milliseconds(100))
    }

    /// A driver for `executor` with an explicit identity; nothing happens until `start()`.
    public init(executor: some Executor, environment: ExecutorEnvironment,
                logger: Logger = Logger(label: "agora.executor")) {
        self.init(executor: executor, environment: environment, logger: logger,
                  timing: ExecutorSession.Timing.forAgent(of: environment), tickInterval: .milliseconds(100))
    }

    /// With explicit timing, for tests.
    init(executor: any Executor, environment: ExecutorEnvironment, logger: Logger,
         timing: ExecutorSession.Timing, tickInterval: Duration) {
        self.environment = environment
        self.executor = executor
        var logger = logger
        logger[metadataKey: "framework_id"] = "\(environment.frameworkID)"
        logger[metadataKey: "executor_id"] = "\(environment.executorID)"
        self.logger = logger
        self.session = ExecutorSession(frameworkID: environment.frameworkID, executorID: environment.executorID,
                                       timing: timing)
        self.tickInterval = tickInterval
        self.createdAt = clock.now
    }

    /// Whether the agent currently counts this executor as subscribed.
    public var isSubscribed: Bool { session.isSubscribed }

    /// Status updates sent and not yet acknowledged by the agent.
    public var pendingUpdateCount: Int { session.pendingUpdateCount }

    // MARK: - Lifecycle

    /// Connects to the agent and subscribes as soon as the connection is up, retrying
    /// until SUBSCRIBED. Returns without waiting for it; `Executor.registered` reports
    /// it. Events are handled in the background until `stop()`.
    ///
    /// - Throws: `alreadyStarted`, or `messaging` when the agent endpoint is unusable.
    public func start() async throws(ExecutorDriverError) {
        guard phase == .idle else { throw ExecutorDriverError(.alreadyStarted, "the executor driver was already started") }
        let endpoint: DealerEndpoint
        do {
            endpoint = try DealerEndpoint(connectingTo: environment.agentEndpoint, logger: logger)
        } catch {
            throw ExecutorDriverError(.messaging, "cannot connect to the agent at \(environment.agentEndpoint): \(error)")
        }
        self.endpoint = endpoint
        phase = .running
        logger.info("connecting to the agent", metadata: ["endpoint": "\(environment.agentEndpoint)"])

        let (stream, callbacks) = AsyncStream.makeStream(of: Callback.self)
        self.callbacks = callbacks
        callbackTask = Task { await self.deliver(stream) }
        let messages = endpoint.messages
        let events = endpoint.events
        let interval = tickInterval
        inputTasks = [
            Task.detached {
                for await envelope in messages { await self.handle(envelope) }
            },
            Task.detached {
                for await event in events { await self.handle(event) }
            },
            Task.detached {
                while true {
                    do { try await Task.sleep(for: interval) } catch { return }
                    await self.tick()
                }
            },
        ]
    }

    /// Waits until the driver is stopped and its last callback has returned. Returns at
    /// once if the driver was never started. Do not call it from an `Executor` callback.
    public func run() async {
        if phase == .running || phase == .stopping {
            await withCheckedContinuation { stopWaiters.append($0) }
        }
        await callbackTask?.value
    }

    /// Stops the driver: waits up to `acknowledgementTimeout` for the agent to
    /// acknowledge the status updates sent so far (a terminal update that is not
    /// acknowledged may be lost), then closes the connection. Status updates are refused
    /// from the moment it is called. May be called from a callback; later calls wait
    /// for the first to finish.
    public func stop(acknowledgementTimeout: Duration = .seconds(5)) async {
        switch phase {
        case .stopped:
            return
        case .idle:
            phase = .stopped
            resumeStopWaiters()
            return
        case .stopping:
            await withCheckedContinuation { stopWaiters.append($0) }
            return
        case .running:
            phase = .stopping
        }
        if session.pendingUpdateCount > 0 {
            logger.info("waiting for the agent to acknowledge status updates",
                        metadata: ["pending": "\(session.pendingUpdateCount)"])
            await waitForAcknowledgements(within: acknowledgementTimeout)
            if session.pendingUpdateCount > 0 {
                logger.warning("stopping with unacknowledged status updates",
                               metadata: ["pending": "\(session.pendingUpdateCount)"])
            }
        }
        phase = .stopped
        for task in inputTasks { task.cancel() }
        inputTasks = []
        if let endpoint {
            await flush(endpoint)
            await endpoint.shutdown()
        }
        callbacks?.finish()
        logger.info("executor driver stopped")
        resumeStopWaiters()
    }

    // MARK: - Calls

    /// Reports the state of a task to the agent, which checkpoints it and forwards it to
    /// the scheduler. The update gets a fresh UUID, the current time, source EXECUTOR and
    /// this executor's ID, and is sent again until the agent acknowledges it (also
    /// across a lost connection or an agent restart).
    ///
    /// - Parameter labels: attached sorted by key.
    /// - Returns: the update as sent.
    /// - Throws: `notRunning` before `start()` or once `stop()` was called;
    ///   `invalidCall` for an empty task ID or TASK_STAGING.
    @discardableResult
    public func sendStatusUpdate(taskID: String, state: Agora_V1_TaskState, message: String? = nil,
                                 data: Data? = nil, reason: Agora_V1_TaskStatus.Reason? = nil,
                                 healthy: Bool? = nil, labels: [String: String] = [:])
        async throws(ExecutorDriverError) -> Agora_V1_TaskStatus {
        var status = Agora_V1_TaskStatus()
        status.taskID.value = taskID
        status.state = state
        if let message { status.message = message }
        if let data { status.data = data }
        if let reason { status.reason = reason }
        if let healthy { status.healthy = healthy }
        if !labels.isEmpty {
            status.labels.labels = labels.sorted { $0.key < $1.key }.map { key, value in
                var label = Agora_V1_Label()
                label.key = key
                label.value = value
                return label
            }
        }
        return try await sendStatusUpdate(status)
    }

    /// Reports `status` as given, filling in what it lacks: a UUID (16 random bytes) and
    /// the timestamp when unset, the agent ID when known; source and executor ID always.
    /// Delivered like `sendStatusUpdate(taskID:state:…)`.
    ///
    /// - Throws: as `sendStatusUpdate(taskID:state:…)`, and `invalidCall` for a UUID
    ///   that an unacknowledged update already carries.
    @discardableResult
    public func sendStatusUpdate(_ status: Agora_V1_TaskStatus) async throws(ExecutorDriverError) -> Agora_V1_TaskStatus {
        guard phase == .running else {
            throw ExecutorDriverError(.notRunning, "the executor driver is not running (not started, or stopping); the update of task \(status.taskID.value) was not sent")
        }
        var status = status
        if !status.hasUuid || status.uuid.isEmpty { status.uuid = Self.newUUID() }
        if !status.hasTimestamp { status.timestamp = Date().timeIntervalSince1970 }
        if !status.hasAgentID, let agentID = environment.agentID { status.agentID.value = agentID }
        execute(try session.update(status, now: now))
        return session.pendingUpdates.last?.status ?? status
    }

    /// Sends `data` to the scheduler (best effort, no delivery guarantee).
    ///
    /// - Throws: `notRunning`, `notSubscribed` while (re-)subscribing, `messaging` when
    ///   the message cannot be queued.
    public func sendFrameworkMessage(_ data: Data) async throws(ExecutorDriverError) {
        guard phase == .running else {
            throw ExecutorDriverError(.notRunning, "the executor driver is not running (not started, or stopping)")
        }
        guard let call = session.messageCall(data) else {
            throw ExecutorDriverError(.notSubscribed, "the executor is not subscribed to its agent right now; retry after Executor.registered or reregistered")
        }
        try transmit(call)
    }

    // MARK: - Event handling

    private var isActive: Bool { phase == .running || phase == .stopping }

    private func handle(_ envelope: Agora_V1_Envelope) {
        guard isActive else { return }
        switch envelope.payload {
        case .executorEvent(let event):
            execute(session.received(event, now: now))
        case .refused(let refused):
            execute(session.refused(refused))
        default:
            logger.debug("ignoring a message that is not an executor event")
        }
        if session.pendingUpdateCount == 0 { resumeAcknowledgementWaiters() }
    }

    private func handle(_ event: ConnectionEvent) {
        guard isActive else { return }
        switch event {
        case .connected(let endpoint):
            logger.info("connected to the agent", metadata: ["endpoint": "\(endpoint)"])
            execute(session.connected(now: now))
        case .disconnected(let endpoint):
            logger.warning("disconnected from the agent", metadata: ["endpoint": "\(endpoint)"])
            execute(session.disconnected(now: now))
        case .handshakeFailed(let endpoint):
            logger.warning("handshake with the agent failed", metadata: ["endpoint": "\(endpoint)"])
        case .peerConnected, .peerDisconnected:
            break
        }
    }

    private func tick() {
        guard isActive else { return }
        execute(session.tick(now: now))
    }

    private func execute(_ directives: [ExecutorSession.Directive]) {
        for directive in directives {
            switch directive {
            case .send(let call):
                do {
                    try transmit(call)
                } catch {
                    logger.warning("cannot send a call to the agent; it is retried",
                                   metadata: ["call": "\(call.type)", "error": "\(error)"])
                }
            case .notifyRegistered(let subscribed):
                logger.info("subscribed to the agent", metadata: ["container_id": "\(subscribed.containerID.value)"])
                callbacks?.yield(.registered(subscribed))
            case .notifyReregistered(let subscribed):
                logger.info("subscribed to the agent again",
                            metadata: ["pending_updates": "\(session.pendingUpdateCount)"])
                callbacks?.yield(.reregistered(subscribed))
            case .notifyDisconnected(let reason):
                logger.warning("lost the agent; subscribing again when it is back", metadata: ["reason": "\(reason)"])
                callbacks?.yield(.disconnected)
            case .deliver(let event):
                callbacks?.yield(.event(event))
            case .abandon(let reason):
                logger.error("the agent is not coming back; shutting the executor down", metadata: ["reason": "\(reason)"])
                callbacks?.yield(.abandoned)
            }
        }
    }

    private func deliver(_ callbacks: AsyncStream<Callback>) async {
        for await callback in callbacks {
            guard isActive else { continue }
            switch callback {
            case .registered(let subscribed):
                await executor.registered(self, executorInfo: subscribed.executorInfo,
                                          frameworkInfo: subscribed.frameworkInfo, agentInfo: subscribed.agentInfo)
            case .reregistered(let subscribed):
                await executor.reregistered(self, agentInfo: subscribed.agentInfo)
            case .disconnected:
                await executor.disconnected(self)
            case .abandoned:
                await executor.shutdown(self)
            case .event(let event):
                await deliver(event)
            }
        }
    }

    private func deliver(_ event: Agora_V1_Executor_Event) async {
        switch event.type {
        case .launch:
            await executor.launchTask(self, task: event.launch.task)
        case .launchGroup:
            await executor.launchTaskGroup(self, tasks: event.launchGroup.taskGroup.tasks)
        case .kill:
            let kill = event.kill
            await executor.killTask(self, taskID: kill.taskID.value, killPolicy: kill.hasKillPolicy ? kill.killPolicy : nil)
        case .message:
            await executor.frameworkMessage(self, data: event.message.data)
        case .shutdown:
            logger.info("the agent asked the executor to shut down")
            await executor.shutdown(self)
        case .error:
            logger.warning("error from the agent", metadata: ["message": "\(event.error.message)"])
            await executor.error(self, message: event.error.message)
        default:
            logger.debug("ignoring an executor event", metadata: ["type": "\(event.type)"])
        }
    }

    // MARK: - Helpers

    private var now: Duration { clock.now - createdAt }

    private func transmit(_ call: Agora_V1_Executor_Call) throws(ExecutorDriverError) {
        guard let endpoint else { throw ExecutorDriverError(.notRunning, "the executor driver is not running") }
        var envelope = Agora_V1_Envelope()
        envelope.protocolVersion = 1
        envelope.executorCall = call
        do {
            try endpoint.trySend(envelope)
        } catch {
            throw ExecutorDriverError(.messaging, "cannot send \(call.type) to the agent: \(error)")
        }
        transmitted += 1
        lastTransmitAt = clock.now
    }

    /// Waits (bounded) until ZeroMQ has taken every queued envelope and had a moment to
    /// write the last ones: closing the endpoint discards what it still holds.
    private func flush(_ endpoint: DealerEndpoint) async {
        let deadline = clock.now + .seconds(1)
        while endpoint.counters.sent < transmitted, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        if let lastTransmitAt, clock.now - lastTransmitAt < .milliseconds(100) {
            try? await Task.sleep(until: lastTransmitAt + .milliseconds(100), clock: clock)
        }
    }

    /// Returns once no update is pending, or after `timeout`.
    private func waitForAcknowledgements(within timeout: Duration) async {
        guard session.pendingUpdateCount > 0 else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resumeAcknowledgementWaiters()
        }
        await withCheckedContinuation { acknowledgementWaiters.append($0) }
        timer.cancel()
    }

    private func resumeAcknowledgementWaiters() {
        let waiters = acknowledgementWaiters
        acknowledgementWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func resumeStopWaiters() {
        let waiters = stopWaiters
        stopWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// 16 random bytes (a version 4 UUID).
    private static func newUUID() -> Data {
        withUnsafeBytes(of: UUID().uuid) { Data($0) }
    }
}
