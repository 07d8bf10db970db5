import AgoraProto
import Foundation
import Framework
import Logging
import Messaging
import ServiceLifecycle

/// The shell around `AgentFleet`: owns a few DEALER connections to the master (the
/// agents share them), feeds messages, reconnections and ticks into the fleet, sends
/// what it asks for, and — once every agent is registered — starts the built-in
/// framework that launches the simulated tasks, and once they run, the update rounds
/// (`SimulationOptions.updateRounds`). Milestones go to `report`.
public actor Simulation: Service {
    private var fleet: AgentFleet
    private let options: SimulationOptions
    private let endpoints: [DealerEndpoint]
    private let board: ProgressBoard
    private let logger: Logger
    private let clock = ContinuousClock()
    private let startedAt: ContinuousClock.Instant
    private var driver: SchedulerDriver?
    private var droppedSends = 0
    /// When the update rounds start: set once every task runs.
    private var updateRoundsDueAt: ContinuousClock.Instant?
    /// When the update rounds started, and the fleet's update retries until then.
    private var updateRoundsStart: (instant: ContinuousClock.Instant, retries: Int)?
    /// Re-registrations encoded ahead per tick once every task runs (about 35 ms of CPU
    /// at 10 tasks per agent), until every agent's report is ready.
    private static let reportsEncodedPerTick = 500

    /// Opens the connections at once (ZeroMQ connects in the background).
    ///
    /// - Throws: `SimulationError` (`messaging`) when the master address is unusable.
    public init(options: SimulationOptions, logger: Logger,
                report: @escaping @Sendable (SimulationReport) -> Void) throws(SimulationError) {
        var endpointOptions = EndpointOptions()
        // Each connection carries thousands of agents: room for a registration burst.
        endpointOptions.outboxCapacity = 1 << 20
        endpointOptions.inboxCapacity = 1 << 18
        var endpoints: [DealerEndpoint] = []
        do {
            for _ in 0..<options.fleet.connectionCount {
                endpoints.append(try DealerEndpoint(connectingTo: options.masterAddress, options: endpointOptions,
                                                    logger: logger))
            }
        } catch {
            throw SimulationError(.messaging, "cannot connect to the master at \(options.masterAddress): \(error)")
        }
        let now = Date().timeIntervalSince1970
        var configuration = options.fleet
        configuration.startedAtUnixSeconds = now
        self.fleet = AgentFleet(configuration: configuration)
        self.options = options
        self.endpoints = endpoints
        self.board = ProgressBoard(
            progress: SimulationProgress(agentCount: configuration.agentCount,
                                         expectedTasks: configuration.agentCount * options.tasksPerAgent, startedAt: now),
            report: report)
        self.logger = logger
        self.startedAt = clock.now
    }

    /// Tasks that reported `TASK_RUNNING` to the built-in framework so far.
    public nonisolated var runningTaskCount: Int { board.runningTaskCount }

    /// Runs until cancelled or a graceful shutdown; then stops the framework (with
    /// failover, so the master keeps its tasks) and closes the connections.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for (connection, endpoint) in endpoints.enumerated() {
                group.addTask { await self.receive(from: endpoint, connection: connection) }
                group.addTask { await self.watch(endpoint, connection: connection) }
            }
            group.addTask { await self.runTimers() }
            await withGracefulShutdownHandler {
                await group.next()
            } onGracefulShutdown: {
                Task { await self.closeConnections() }
            }
            group.cancelAll()
        }
        await closeConnections()
        let counters = fleet.counters
        logger.info("simulation stopped", metadata: [
            "registrations": "\(counters.registrationsSent)", "reregistrations": "\(counters.reregistrationsSent)",
            "status_updates": "\(counters.statusUpdatesSent)", "update_retries": "\(counters.statusUpdateRetries)",
            "refusals": "\(counters.refusals)", "dropped_sends": "\(droppedSends)",
        ])
    }

    private var now: Duration { clock.now - startedAt }

    private func closeConnections() async {
        if let driver {
            self.driver = nil
            await driver.stop(failover: true)
        }
        for endpoint in endpoints { await endpoint.shutdown() }
    }

    private func receive(from endpoint: DealerEndpoint, connection: Int) async {
        for await envelope in endpoint.messages {
            await perform(fleet.handle(envelope, connection: connection, now: now))
        }
    }

    private func watch(_ endpoint: DealerEndpoint, connection: Int) async {
        for await event in endpoint.events {
            switch event {
            case .connected:
                logger.debug("connection \(connection) to the master is up")
                await perform(fleet.connected(connection, now: now))
            case .disconnected:
                logger.info("connection \(connection) to the master was lost; ZeroMQ reconnects")
            default:
                break
            }
        }
    }

    private func runTimers() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: options.tickInterval) } catch { return }
            await perform(fleet.tick(now: now))
            await startUpdateRoundsIfDue()
            if options.updateRounds == 0, board.runningTaskCount >= options.fleet.agentCount * options.tasksPerAgent {
                fleet.encodeReportsAhead(limit: Self.reportsEncodedPerTick)
            }
        }
    }

    /// Starts the update rounds `updateRoundsDelay` after every task runs.
    private func startUpdateRoundsIfDue() async {
        guard options.updateRounds > 0, updateRoundsStart == nil else { return }
        guard let dueAt = updateRoundsDueAt else {
            if board.runningTaskCount >= options.fleet.agentCount * options.tasksPerAgent {
                updateRoundsDueAt = clock.now + options.updateRoundsDelay
            }
            return
        }
        guard clock.now >= dueAt else { return }
        updateRoundsStart = (clock.now, fleet.counters.statusUpdateRetries)
        let rounds = options.updateRounds
        let directives = fleet.startUpdateRounds(rounds, now: now)
        let updates = fleet.updateRoundsProgress?.total ?? 0
        board.record { _, at in [.updateRoundsStarted(tasks: updates / rounds, rounds: rounds, updates: updates, at: at)] }
        await perform(directives)
    }

    /// Queues a message for the master; one that cannot be queued is counted and dropped
    /// (the fleet retries registrations and updates; a lost pong is a missed ping).
    private func queue(_ send: () throws(MessagingError) -> Void) {
        do throws(MessagingError) {
            try send()
        } catch {
            droppedSends += 1
            if droppedSends == 1 || droppedSends % 10_000 == 0 {
                logger.warning("could not queue a message to the master", metadata: [
                    "error": "\(error)", "dropped": "\(droppedSends)",
                ])
            }
        }
    }

    private func perform(_ directives: [FleetDirective]) async {
        for directive in directives {
            switch directive {
            case .send(let envelope, let connection):
                queue { () throws(MessagingError) in try endpoints[connection].trySend(envelope) }
            case .sendEncoded(let bytes, let connection):
                queue { () throws(MessagingError) in try endpoints[connection].trySend(encoded: bytes) }
            case .allRegistered(let masterID, let isFirstMaster):
                board.record { $0.allAgentsRegistered(masterID: masterID, isFirstMaster: isFirstMaster, at: $1) }
                if isFirstMaster { await startFramework() }
            case .updateRoundsComplete(let updates):
                guard let start = updateRoundsStart else { break }
                let seconds = (clock.now - start.instant).seconds
                let retries = fleet.counters.statusUpdateRetries - start.retries
                let envelopeBytes = fleet.updateRoundsProgress?.envelopeBytes ?? 0
                let rounds = options.updateRounds
                board.record { _, at in
                    [.updateRoundsComplete(updates: updates, rounds: rounds, seconds: seconds, retries: retries,
                                           envelopeBytes: envelopeBytes, at: at)]
                }
            }
        }
    }

    private func startFramework() async {
        guard driver == nil else { return }
        var info = Agora_V1_FrameworkInfo()
        info.name = "agora-simulate"
        info.user = "agora-simulate"
        // A week: the tasks outlive a master failover and a framework reconnection.
        info.failoverTimeout = 7 * 24 * 3600
        let scheduler = SimulatedFramework(
            planner: LaunchPlanner(tasksPerAgent: options.tasksPerAgent, taskResources: options.taskResources),
            refuseSeconds: options.refuseSeconds, board: board, logger: logger)
        let driver = SchedulerDriver(master: options.masterAddress, frameworkInfo: info, scheduler: scheduler,
                                     logger: logger)
        self.driver = driver
        do {
            try await driver.start()
        } catch {
            logger.error("the built-in framework could not start", metadata: ["error": "\(error)"])
        }
    }
}
