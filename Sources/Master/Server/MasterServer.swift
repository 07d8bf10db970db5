import AgoraProto
import Foundation
import Snapshots
import Logging
import Messaging
import ServiceLifecycle

/// The master daemon's shell: owns the ROUTER socket, the registry and the clock,
/// feeds messages and ticks into `MasterCore`, carries out its directives, and
/// publishes snapshots for the HTTP endpoints: when a reader wants one, the actor
/// takes a copy of the core (copy-on-write, so O(1) here) and the document is built
/// and encoded off the actor, so a large `/state` never stalls messages or allocation.
///
/// The registry changes of each core input are written as one batch before any of
/// that input's messages is sent. If a write fails the master stops (`run()` throws)
/// without sending them: it never acts on state it could not make durable.
public actor MasterServer: Service {
    /// This run's ID: the prefix of every ID it hands out (never one of an earlier run).
    public nonisolated let runID: String
    /// The bound ZeroMQ endpoint, e.g. `tcp://0.0.0.0:5050`.
    public nonisolated let boundAddress: String
    /// The endpoint as agents and frameworks should dial it.
    public nonisolated let advertisedAddress: String
    public nonisolated let snapshots = SnapshotStore()

    private var core: MasterCore
    private let registry: any Registry
    private let router: RouterEndpoint
    private let logger: Logger
    private let clock = ContinuousClock()
    private let startedAt: ContinuousClock.Instant
    private let tickInterval: Duration
    /// The shortest time between two snapshot captures.
    private let snapshotInterval: Duration
    /// The registry write that failed; the master stops and `run()` throws it.
    private var registryFailure: (any Error)?
    private var stopping = false

    /// Binds the master's socket, then recovers the master's state from `registry`, so
    /// the caller can print the address once this returns.
    ///
    /// The socket is bound first: agents that come back at once (after a master restart,
    /// all of them) have their reports received and decoded while the registry is read,
    /// and they wait in the inbox until `run()` handles them.
    ///
    /// - Parameters:
    ///   - configuration: its `runID` is suffixed (`-2`, `-3`, …) if an earlier run
    ///     recorded in the registry used it; read the one in use from `runID`.
    ///   - registry: the durable registry; the default forgets everything on exit.
    /// - Throws: a messaging error when the address cannot be bound, or `RegistryError`
    ///   when the registry cannot be read or written (the socket is closed again).
    public init(configuration: MasterConfiguration, registry: any Registry = InMemoryRegistry(), bindAddress: String,
                advertisedHost: String, tickInterval: Duration = .milliseconds(50),
                snapshotInterval: Duration = .milliseconds(100), messagingOptions: EndpointOptions = EndpointOptions(),
                logger: Logger) throws {
        let router = try RouterEndpoint(binding: bindAddress, options: messagingOptions, logger: logger)
        var configuration = configuration
        var core: MasterCore
        do {
            let snapshot = try registry.recover()
            configuration.runID = Self.unusedRunID(configuration.runID, used: Set(snapshot.masterRuns))
            core = MasterCore(configuration: configuration)
            let recovery = core.recover(from: snapshot, now: .zero)
            try registry.apply(recovery.compactMap { if case .persist(let change) = $0 { change } else { nil } })
            for case .log(let message) in recovery { logger.info("\(message)") }
        } catch {
            router.shutdownWithoutWaiting()
            throw error
        }
        let port = router.localAddress.split(separator: ":").last.map(String.init) ?? "0"
        let advertisedAddress = "tcp://\(advertisedHost):\(port)"
        core.advertise(at: advertisedAddress)

        self.runID = configuration.runID
        self.registry = registry
        self.router = router
        self.boundAddress = router.localAddress
        self.advertisedAddress = advertisedAddress
        self.core = core
        self.logger = logger
        self.startedAt = clock.now
        self.tickInterval = tickInterval
        self.snapshotInterval = snapshotInterval
    }

    /// `id`, or `id-2`, `id-3`, … : the first one no earlier run used.
    static func unusedRunID(_ id: String, used: Set<String>) -> String {
        guard used.contains(id) else { return id }
        var suffix = 2
        while used.contains("\(id)-\(suffix)") { suffix += 1 }
        return "\(id)-\(suffix)"
    }

    /// The master's state right now (what `/state` serves, without waiting for a snapshot).
    public func currentState() -> MasterStateView {
        core.stateView(now: now)
    }

    /// Serves until cancelled or a graceful shutdown is requested, then closes the socket.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.receiveMessages() }
            group.addTask { await self.watchConnections() }
            group.addTask { await self.runTimers() }
            await withGracefulShutdownHandler {
                await group.next()
            } onGracefulShutdown: {
                Task { await self.stopServing() }
            }
            group.cancelAll()
        }
        await router.shutdown()
        snapshots.close()
        if let registryFailure {
            logger.critical("master stopped: the registry could not be written", metadata: ["error": "\(registryFailure)"])
            throw registryFailure
        }
        logger.info("master stopped")
    }

    private var now: Duration { clock.now - startedAt }

    /// Graceful shutdown: connections closing now are the master's doing, not the
    /// peers' — frameworks must not be marked disconnected (and their failover
    /// deadlines stored) because of them.
    private func stopServing() async {
        stopping = true
        await router.shutdown()
    }

    private func receiveMessages() async {
        var handled = 0
        for await message in router.messages {
            let directives = core.handle(message.envelope, from: message.peer, now: now)
            snapshots.noteChange()
            guard perform(directives) else { return }
            // A flood of messages (thousands of agents re-registering) must not keep
            // pings and allocation waiting until it drains.
            handled += 1
            if handled % 256 == 0 { await Task.yield() }
        }
    }

    private func watchConnections() async {
        for await event in router.events {
            if case .peerDisconnected(let peer) = event, !stopping {
                snapshots.noteChange()
                guard perform(core.peerDisconnected(peer, now: now)) else { return }
            }
        }
    }

    private func runTimers() async {
        var lastCapture = clock.now - snapshotInterval
        var lastUptimeChange = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: tickInterval)
            let timed = core.tick(now: now)
            if !timed.isEmpty { snapshots.noteChange() }
            guard perform(timed) else { return }
            let start = clock.now
            let offers = core.allocateIfDue(now: now)
            let elapsed = clock.now - start
            if !offers.isEmpty || elapsed > .milliseconds(1) { core.recordAllocationDuration(elapsed) }
            if !offers.isEmpty { snapshots.noteChange() }
            guard perform(offers) else { return }
            // Uptime moves anyway: a reader sees it at most a second old.
            if clock.now - lastUptimeChange >= .seconds(1) {
                snapshots.noteChange()
                lastUptimeChange = clock.now
            }
            if clock.now - lastCapture >= snapshotInterval, let capture = snapshots.claimCapture() {
                captureSnapshot(capture)
                lastCapture = clock.now
            }
        }
    }

    /// Stores the directives' registry changes as one batch, then sends and logs.
    /// Returns false (and sends nothing) when the registry could not be written; the
    /// master then stops.
    private func perform(_ directives: [MasterDirective]) -> Bool {
        guard registryFailure == nil else { return false }
        let changes = directives.compactMap { directive -> RegistryChange? in
            if case .persist(let change) = directive { change } else { nil }
        }
        if !changes.isEmpty {
            do {
                try registry.apply(changes)
            } catch {
                registryFailure = error
                logger.critical("cannot write the registry; stopping the master", metadata: ["error": "\(error)"])
                return false
            }
        }
        for directive in directives {
            switch directive {
            case .send(let envelope, let peer):
                do {
                    try router.trySend(envelope, to: peer)
                } catch {
                    logger.warning("could not queue a message", metadata: ["peer": "\(peer)", "error": "\(error)"])
                }
            case .log(let message):
                logger.info("\(message)")
            case .persist:
                break
            }
        }
        return true
    }

    /// Builds and publishes the wanted documents of a copy of the core, off the actor.
    private func captureSnapshot(_ capture: SnapshotStore.Capture) {
        let counters = router.counters
        let messaging = [
            "received": counters.received, "sent": counters.sent, "undecodable": counters.undecodable,
            "oversized": counters.oversized, "unknown_type": counters.unknownType, "malformed": counters.malformed,
            "unroutable": counters.unroutable, "dropped_high_water_mark": counters.droppedHighWaterMark,
            "handshake_failures": counters.handshakeFailures, "disconnects": counters.disconnects,
        ]
        let frozen = core
        let now = now
        let store = snapshots
        Task.detached(priority: .utility) {
            var state: Data?
            var summary: Data?
            var tasks: JSONListing?
            if capture.includesState || capture.includesSummary {
                // One view for all three: the summary is the state without its task lists.
                var view = frozen.stateView(now: now, includingTasks: capture.includesState)
                if capture.includesState { state = view.jsonData() }
                if capture.includesTasks && capture.includesState {
                    tasks = MasterStateView.taskListing(view.tasks + view.completedTasks)
                }
                if capture.includesSummary {
                    view.tasks = []
                    view.completedTasks = []
                    summary = view.jsonData()
                }
            }
            if capture.includesTasks && tasks == nil { tasks = frozen.taskListing() }
            let metrics = capture.includesMetrics ? Data(frozen.metricsText(messaging: messaging).utf8) : nil
            store.publish(capture, state: state, summary: summary, tasks: tasks, metrics: metrics)
        }
    }
}
