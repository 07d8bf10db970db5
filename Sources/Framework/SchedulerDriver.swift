import AgoraProto
import Foundation
import Logging
import Messaging

/// Connects a `Scheduler` to the master: subscribes, hands events to the scheduler,
/// sends its calls, and re-subscribes with the same framework ID after losing the
/// master (connection dropped, or no event for 3 heartbeat intervals).
///
/// ```swift
/// let driver = SchedulerDriver(master: "tcp://127.0.0.1:5050", frameworkInfo: info,
///                              scheduler: MyScheduler(), idStore: FileFrameworkIDStore(path: "…"))
/// try await driver.start()
/// await driver.run()  // returns after something calls `driver.stop()`
/// ```
///
/// Calls (`launch`, `decline`, …) need a current subscription and throw
/// `SchedulerDriverError` with `notSubscribed` while there is none; offers do not
/// survive a re-subscription anyway.
public actor SchedulerDriver {
    private enum Phase { case idle, running, stopped }

    /// Everything the driver reacts to, handled one at a time by `pump`.
    private enum Input: Sendable {
        /// `done` is resumed once handled, so the socket's backpressure reaches the master.
        case envelope(Agora_V1_Envelope, done: CheckedContinuation<Void, Never>)
        case connection(ConnectionEvent)
        case tick
    }

    /// Whether the driver acknowledges status updates itself after `statusUpdate` returns.
    public nonisolated let implicitAcknowledgements: Bool

    private let master: String
    private let scheduler: any Scheduler
    private let idStore: (any FrameworkIDStore)?
    private var logger: Logger
    private var session: SchedulerSession
    private let tickInterval: Duration
    private let clock = ContinuousClock()
    private let createdAt: ContinuousClock.Instant
    private var phase = Phase.idle
    private var endpoint: DealerEndpoint?
    private var inputs: AsyncStream<Input>.Continuation?
    private var pumpTask: Task<Void, Never>?
    private var tickTask: Task<Void, Never>?
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    /// A driver for the master at `master` (`tcp://HOST:PORT` or `HOST:PORT`); nothing
    /// happens until `start()`.
    ///
    /// - Parameters:
    ///   - frameworkInfo: sent with SUBSCRIBE. Set `failoverTimeout` (seconds) so the
    ///     master keeps the tasks while the framework is away; set `id` to resume a
    ///     known framework (otherwise the ID in `idStore`, if any, is used).
    ///   - idStore: where the framework ID is saved on SUBSCRIBED and read on `start()`;
    ///     cleared by `stop(failover: false)`.
    ///   - implicitAcknowledgements: acknowledge each status update that carries a UUID
    ///     once `Scheduler.statusUpdate` returns. When `false`, call `acknowledge(status:)`.
    public init(master: String, frameworkInfo: Agora_V1_FrameworkInfo, scheduler: some Scheduler,
                idStore: (any FrameworkIDStore)? = nil, implicitAcknowledgements: Bool = true,
                logger: Logger = Logger(label: "agora.framework")) {
        self.init(master: master, frameworkInfo: frameworkInfo, scheduler: scheduler, idStore: idStore,
                  implicitAcknowledgements: implicitAcknowledgements, logger: logger,
                  timing: SchedulerSession.Timing(), tickInterval: .milliseconds(100))
    }

    /// With explicit timing, for tests.
    init(master: String, frameworkInfo: Agora_V1_FrameworkInfo, scheduler: any Scheduler,
         idStore: (any FrameworkIDStore)?, implicitAcknowledgements: Bool, logger: Logger,
         timing: SchedulerSession.Timing, tickInterval: Duration) {
        self.master = master
        self.scheduler = scheduler
        self.idStore = idStore
        self.implicitAcknowledgements = implicitAcknowledgements
        self.logger = logger
        self.session = SchedulerSession(frameworkInfo: frameworkInfo, frameworkID: nil, timing: timing)
        self.tickInterval = tickInterval
        self.createdAt = clock.now
    }

    /// The framework ID: known once subscribed, or from `frameworkInfo.id` / the ID store
    /// after `start()`.
    public var frameworkID: String? { session.frameworkID }

    /// Whether the master currently counts this framework as subscribed.
    public var isSubscribed: Bool { session.isSubscribed }

    // MARK: - Lifecycle

    /// Connects to the master and subscribes (as the stored framework when there is
    /// one) as soon as the connection is up. Returns without waiting for SUBSCRIBED;
    /// `Scheduler.subscribed` reports it. Events are handled in the background until
    /// `stop()`.
    ///
    /// - Throws: `alreadyStarted`, `frameworkIDStore` when the stored ID cannot be
    ///   read, `messaging` when the master address is unusable.
    public func start() async throws(SchedulerDriverError) {
        guard phase == .idle else { throw SchedulerDriverError(.alreadyStarted, "the driver was already started") }
        if let idStore, session.frameworkID == nil {
            let stored: Agora_V1_FrameworkID?
            do {
                stored = try idStore.load()
            } catch {
                throw SchedulerDriverError(.frameworkIDStore, "cannot read the stored framework ID: \(error)")
            }
            if let stored {
                session = SchedulerSession(frameworkInfo: session.frameworkInfo, frameworkID: stored.value, timing: session.timing)
            }
        }
        let endpoint: DealerEndpoint
        do {
            endpoint = try DealerEndpoint(connectingTo: master, logger: logger)
        } catch {
            throw SchedulerDriverError(.messaging, "cannot connect to the master at \(master): \(error)")
        }
        self.endpoint = endpoint
        phase = .running
        if let id = session.frameworkID { logger[metadataKey: "framework_id"] = "\(id)" }
        logger.info("connecting to the master", metadata: ["master": "\(master)"])

        let (stream, inputs) = AsyncStream.makeStream(of: Input.self)
        self.inputs = inputs
        pumpTask = Task { await self.pump(stream) }
        let messages = endpoint.messages
        Task.detached {
            for await envelope in messages {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    if case .terminated = inputs.yield(.envelope(envelope, done: done)) { done.resume() }
                }
            }
        }
        let events = endpoint.events
        Task.detached {
            for await event in events { inputs.yield(.connection(event)) }
        }
        let interval = tickInterval
        tickTask = Task.detached {
            while true {
                do { try await Task.sleep(for: interval) } catch { return }
                if case .terminated = inputs.yield(.tick) { return }
            }
        }
    }

    /// Waits until the driver is stopped and its last callback has returned. Returns at
    /// once if the driver was never started. Do not call it from a `Scheduler` callback.
    public func run() async {
        if phase == .running {
            await withCheckedContinuation { stopWaiters.append($0) }
        }
        await pumpTask?.value
    }

    /// Stops the driver. With `failover: false` (the default) the framework ends: a
    /// TEARDOWN makes the master kill its tasks, and the ID store is cleared. With
    /// `failover: true` the master keeps the tasks for the framework's failover timeout,
    /// so a new driver with the same ID can take over. May be called from a callback.
    public func stop(failover: Bool = false) async {
        switch phase {
        case .stopped:
            return
        case .idle:
            phase = .stopped
            resumeStopWaiters()
            return
        case .running:
            phase = .stopped
        }
        tickTask?.cancel()
        if let endpoint {
            if !failover, let teardown = session.teardownCall() {
                await sendTeardown(teardown, via: endpoint)
            }
            await endpoint.shutdown()
        }
        if !failover, let idStore {
            do {
                try idStore.clear()
            } catch {
                logger.error("cannot clear the stored framework ID", metadata: ["error": "\(error)"])
            }
        }
        inputs?.finish()
        logger.info("scheduler driver stopped", metadata: ["failover": "\(failover)"])
        resumeStopWaiters()
    }

    // MARK: - Calls

    /// Uses offers (all on one agent): runs `operations` in order; whatever they do not
    /// use goes back to the pool, kept away from this framework as `filters` say.
    public func accept(offerIDs: [String], operations: [Agora_V1_Offer.Operation],
                       filters: Agora_V1_Filters? = nil) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.accept)
        call.accept.offerIds = offerIDs.map(Self.offerID)
        call.accept.operations = operations
        if let filters { call.accept.filters = filters }
        try await transmit(call)
    }

    /// Launches `tasks` on the offers' agent, each with its command (or given) executor.
    public func launch(offerIDs: [String], tasks: [Agora_V1_TaskInfo],
                       filters: Agora_V1_Filters? = nil) async throws(SchedulerDriverError) {
        try await accept(offerIDs: offerIDs, operations: [.launch(tasks)], filters: filters)
    }

    /// Launches `tasks` together under one `executor`; if one fails the others are killed.
    public func launchGroup(offerIDs: [String], executor: Agora_V1_ExecutorInfo, tasks: [Agora_V1_TaskInfo],
                            filters: Agora_V1_Filters? = nil) async throws(SchedulerDriverError) {
        try await accept(offerIDs: offerIDs, operations: [.launchGroup(executor: executor, tasks: tasks)], filters: filters)
    }

    /// Gives offers back; `filters.refuseSeconds` (5 s when unset) keeps those agents'
    /// resources away from this framework for that long.
    public func decline(offerIDs: [String], filters: Agora_V1_Filters? = nil) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.decline)
        call.decline.offerIds = offerIDs.map(Self.offerID)
        if let filters { call.decline.filters = filters }
        try await transmit(call)
    }

    /// Kills a task; `killPolicy` replaces the task's own grace period.
    public func kill(taskID: String, agentID: String? = nil,
                     killPolicy: Agora_V1_KillPolicy? = nil) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.kill)
        call.kill.taskID.value = taskID
        if let agentID { call.kill.agentID.value = agentID }
        if let killPolicy { call.kill.killPolicy = killPolicy }
        try await transmit(call)
    }

    /// Asks for the latest state of `tasks` (explicit reconciliation), or of all the
    /// framework's tasks the master knows when empty (implicit). Answers arrive as
    /// status updates without a UUID.
    public func reconcile(tasks: [(taskID: String, agentID: String?)] = []) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.reconcile)
        call.reconcile.tasks = tasks.map { task in
            var entry = Agora_V1_Scheduler_Call.Reconcile.Task()
            entry.taskID.value = task.taskID
            if let agentID = task.agentID { entry.agentID.value = agentID }
            return entry
        }
        try await transmit(call)
    }

    /// Stops offers for `roles` (all the framework's roles when empty). Kept across
    /// re-subscriptions until `revive`.
    public func suppress(roles: [String] = []) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.suppress)
        call.suppress.roles = roles
        try await transmit(call)
        session.suppress(roles: roles)
    }

    /// Clears decline filters and resumes offers for `roles` (all when empty).
    public func revive(roles: [String] = []) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.revive)
        call.revive.roles = roles
        try await transmit(call)
        session.revive(roles: roles)
    }

    /// Acknowledges a status update; only with `implicitAcknowledgements: false`, and
    /// only for updates that carry a UUID. Until acknowledged the agent resends it.
    ///
    /// - Throws: `invalidCall` in implicit mode or for an update without UUID.
    public func acknowledge(status: Agora_V1_TaskStatus) async throws(SchedulerDriverError) {
        guard !implicitAcknowledgements else {
            throw SchedulerDriverError(.invalidCall, "this driver acknowledges status updates itself; create it with implicitAcknowledgements: false to acknowledge explicitly")
        }
        guard status.hasUuid else {
            throw SchedulerDriverError(.invalidCall, "the status update of task \(status.taskID.value) has no UUID and needs no acknowledgement")
        }
        try await transmit(acknowledgement(of: status, in: try subscribedCall(.acknowledge)))
    }

    /// Sends `data` to an executor (best effort, no delivery guarantee).
    public func sendFrameworkMessage(agentID: String, executorID: String, data: Data) async throws(SchedulerDriverError) {
        var call = try subscribedCall(.message)
        call.message.agentID.value = agentID
        call.message.executorID.value = executorID
        call.message.data = data
        try await transmit(call)
    }

    // MARK: - Event handling

    private func pump(_ inputs: AsyncStream<Input>) async {
        for await input in inputs {
            switch input {
            case .envelope(let envelope, let done):
                if phase == .running { await handle(envelope) }
                done.resume()
            case .connection(let event):
                if phase == .running { await handle(event) }
            case .tick:
                if phase == .running { await execute(session.tick(now: now)) }
            }
        }
    }

    private func handle(_ envelope: Agora_V1_Envelope) async {
        switch envelope.payload {
        case .schedulerEvent(let event):
            await execute(session.received(event, now: now))
        case .refused(let refused):
            await execute(session.refused(refused, now: now))
        default:
            logger.debug("ignoring a message that is not a scheduler event")
        }
    }

    private func handle(_ event: ConnectionEvent) async {
        switch event {
        case .connected(let endpoint):
            logger.info("connected to the master", metadata: ["endpoint": "\(endpoint)"])
            await execute(session.connected(now: now))
        case .disconnected(let endpoint):
            logger.warning("disconnected from the master", metadata: ["endpoint": "\(endpoint)"])
            await execute(session.disconnected(now: now))
        case .handshakeFailed(let endpoint):
            logger.warning("handshake with the master failed", metadata: ["endpoint": "\(endpoint)"])
        case .peerConnected, .peerDisconnected:
            break
        }
    }

    private func execute(_ directives: [SchedulerSession.Directive]) async {
        for directive in directives {
            guard phase == .running else { return }
            switch directive {
            case .send(let call):
                do {
                    try await transmit(call)
                } catch {
                    logger.warning("cannot send a call to the master", metadata: ["call": "\(call.type)", "error": "\(error)"])
                }
            case .persistFrameworkID(let id):
                persist(id)
            case .notifySubscribed(let id, let masterInfo):
                logger[metadataKey: "framework_id"] = "\(id)"
                logger.info("subscribed", metadata: ["heartbeat_interval": "\(session.heartbeatInterval)"])
                await scheduler.subscribed(self, frameworkID: id, masterInfo: masterInfo)
            case .notifyDisconnected(let reason):
                logger.warning("lost the master; subscribing again when it is back", metadata: ["reason": "\(reason)"])
                await scheduler.disconnected(self)
            case .deliver(let event):
                await deliver(event)
            }
        }
    }

    private func deliver(_ event: Agora_V1_Scheduler_Event) async {
        switch event.type {
        case .offers:
            await scheduler.resourceOffers(self, offers: event.offers.offers)
        case .rescind:
            await scheduler.offerRescinded(self, offerID: event.rescind.offerID.value)
        case .update:
            let status = event.update.status
            await scheduler.statusUpdate(self, status: status)
            if implicitAcknowledgements, status.hasUuid { await acknowledgeImplicitly(status) }
        case .message:
            let message = event.message
            await scheduler.frameworkMessage(self, agentID: message.agentID.value,
                                             executorID: message.executorID.value, data: message.data)
        case .failure:
            let failure = event.failure
            if failure.hasExecutorID {
                await scheduler.executorLost(self, executorID: failure.executorID.value,
                                             agentID: failure.agentID.value, status: failure.status)
            } else if failure.hasAgentID {
                await scheduler.agentLost(self, agentID: failure.agentID.value)
            }
        case .error:
            logger.warning("error from the master", metadata: ["message": "\(event.error.message)"])
            await scheduler.error(self, message: event.error.message)
        default:
            logger.debug("ignoring a scheduler event", metadata: ["type": "\(event.type)"])
        }
    }

    private func acknowledgeImplicitly(_ status: Agora_V1_TaskStatus) async {
        guard phase == .running else { return }
        guard let call = session.call(.acknowledge) else {
            logger.debug("not subscribed: leaving the update unacknowledged; it will be sent again",
                         metadata: ["task_id": "\(status.taskID.value)"])
            return
        }
        do {
            try await transmit(acknowledgement(of: status, in: call))
        } catch {
            logger.warning("cannot acknowledge a status update", metadata: ["task_id": "\(status.taskID.value)", "error": "\(error)"])
        }
    }

    // MARK: - Helpers

    private var now: Duration { clock.now - createdAt }

    private func subscribedCall(_ type: Agora_V1_Scheduler_Call.TypeEnum) throws(SchedulerDriverError) -> Agora_V1_Scheduler_Call {
        guard phase == .running else {
            throw SchedulerDriverError(.notRunning, "the scheduler driver is not running; call start() first")
        }
        guard let call = session.call(type) else {
            throw SchedulerDriverError(.notSubscribed, "the framework is not subscribed to the master right now; retry after Scheduler.subscribed")
        }
        return call
    }

    private func acknowledgement(of status: Agora_V1_TaskStatus, in call: Agora_V1_Scheduler_Call) -> Agora_V1_Scheduler_Call {
        var call = call
        call.acknowledge.agentID = status.agentID
        call.acknowledge.taskID = status.taskID
        call.acknowledge.uuid = status.uuid
        return call
    }

    private func transmit(_ call: Agora_V1_Scheduler_Call) async throws(SchedulerDriverError) {
        guard let endpoint else { throw SchedulerDriverError(.notRunning, "the scheduler driver is not running") }
        var envelope = Agora_V1_Envelope()
        envelope.protocolVersion = 1
        envelope.schedulerCall = call
        do {
            try await endpoint.send(envelope)
        } catch {
            throw SchedulerDriverError(.messaging, "cannot send \(call.type) to the master: \(error)")
        }
    }

    /// Sends TEARDOWN and waits (bounded) until ZeroMQ has it: shutting the endpoint
    /// down discards what it has not handed over.
    private func sendTeardown(_ call: Agora_V1_Scheduler_Call, via endpoint: DealerEndpoint) async {
        let sentBefore = endpoint.counters.sent
        do {
            try await transmit(call)
        } catch {
            logger.warning("cannot send TEARDOWN", metadata: ["error": "\(error)"])
            return
        }
        let deadline = clock.now + .seconds(1)
        while endpoint.counters.sent <= sentBefore, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        // ZeroMQ's own I/O thread writes it to the socket right after.
        try? await Task.sleep(for: .milliseconds(100))
    }

    private func persist(_ id: String) {
        guard let idStore else { return }
        var frameworkID = Agora_V1_FrameworkID()
        frameworkID.value = id
        do {
            try idStore.save(frameworkID)
        } catch {
            logger.error("cannot save the framework ID; a restarted framework will not find its tasks",
                         metadata: ["error": "\(error)"])
        }
    }

    private func resumeStopWaiters() {
        let waiters = stopWaiters
        stopWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private static func offerID(_ value: String) -> Agora_V1_OfferID {
        var id = Agora_V1_OfferID()
        id.value = value
        return id
    }
}
