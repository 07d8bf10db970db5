import AgoraProto
import Foundation
import Logging
import Messaging
import ServiceLifecycle
import Synchronization

/// The master daemon's shell: owns the ROUTER socket and the clock, feeds messages and
/// ticks into `MasterCore`, carries out its directives, and publishes snapshots for
/// the HTTP endpoints so that serving `/state` never waits for allocation.
public actor MasterServer: Service {
    /// The bound ZeroMQ endpoint, e.g. `tcp://0.0.0.0:5050`.
    public nonisolated let boundAddress: String
    /// The endpoint as agents and frameworks should dial it.
    public nonisolated let advertisedAddress: String
    public nonisolated let snapshots = SnapshotStore()

    private var core: MasterCore
    private let router: RouterEndpoint
    private let logger: Logger
    private let clock = ContinuousClock()
    private let startedAt: ContinuousClock.Instant
    private let tickInterval: Duration
    private let snapshotInterval: Duration
    /// Whether anything changed since the last published snapshot.
    private var stateChanged = true

    /// Binds the master's socket at once, so the caller can print the address.
    public init(configuration: MasterConfiguration, bindAddress: String, advertisedHost: String,
                tickInterval: Duration = .milliseconds(50), snapshotInterval: Duration = .milliseconds(100),
                messagingOptions: EndpointOptions = EndpointOptions(), logger: Logger) throws {
        let router = try RouterEndpoint(binding: bindAddress, options: messagingOptions, logger: logger)
        let port = router.localAddress.split(separator: ":").last.map(String.init) ?? "0"
        var configuration = configuration
        configuration.advertisedAddress = "tcp://\(advertisedHost):\(port)"
        self.router = router
        self.boundAddress = router.localAddress
        self.advertisedAddress = configuration.advertisedAddress
        self.core = MasterCore(configuration: configuration)
        self.logger = logger
        self.startedAt = clock.now
        self.tickInterval = tickInterval
        self.snapshotInterval = snapshotInterval
    }

    /// The master's state right now (what `/state` serves, without waiting for a snapshot).
    public func currentState() -> MasterStateView {
        core.stateView(now: now)
    }

    /// Serves until cancelled or a graceful shutdown is requested, then closes the socket.
    public func run() async throws {
        publishSnapshot()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.receiveMessages() }
            group.addTask { await self.watchConnections() }
            group.addTask { await self.runTimers() }
            await withGracefulShutdownHandler {
                await group.next()
            } onGracefulShutdown: {
                Task { await self.router.shutdown() }
            }
            group.cancelAll()
        }
        await router.shutdown()
        logger.info("master stopped")
    }

    private var now: Duration { clock.now - startedAt }

    private func receiveMessages() async {
        for await message in router.messages {
            let directives = core.handle(message.envelope, from: message.peer, now: now)
            stateChanged = true
            perform(directives)
        }
    }

    private func watchConnections() async {
        for await event in router.events {
            if case .peerDisconnected(let peer) = event {
                perform(core.peerDisconnected(peer, now: now))
                stateChanged = true
            }
        }
    }

    private func runTimers() async {
        var lastSnapshot = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: tickInterval)
            let timed = core.tick(now: now)
            if !timed.isEmpty { stateChanged = true }
            perform(timed)
            let start = clock.now
            let offers = core.allocateIfDue(now: now)
            let elapsed = clock.now - start
            if !offers.isEmpty || elapsed > .milliseconds(1) { core.recordAllocationDuration(elapsed) }
            if !offers.isEmpty { stateChanged = true }
            perform(offers)
            // Uptime moves anyway: refresh at least once a second.
            if clock.now - lastSnapshot >= .seconds(1) { stateChanged = true }
            if stateChanged, clock.now - lastSnapshot >= snapshotInterval {
                publishSnapshot()
                lastSnapshot = clock.now
            }
        }
    }

    private func perform(_ directives: [MasterDirective]) {
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
            }
        }
    }

    private func publishSnapshot() {
        stateChanged = false
        let counters = router.counters
        let messaging = [
            "received": counters.received, "sent": counters.sent, "undecodable": counters.undecodable,
            "oversized": counters.oversized, "unknown_type": counters.unknownType, "malformed": counters.malformed,
            "unroutable": counters.unroutable, "dropped_high_water_mark": counters.droppedHighWaterMark,
            "handshake_failures": counters.handshakeFailures, "disconnects": counters.disconnects,
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let state = (try? encoder.encode(core.stateView(now: now))) ?? Data("{}".utf8)
        snapshots.publish(state: state, metrics: core.metricsText(messaging: messaging))
    }
}

/// The latest `/state` document and `/metrics` text, readable from any thread.
public final class SnapshotStore: Sendable {
    private let latest = Mutex<(state: Data, metrics: String)>((Data("{}".utf8), ""))

    public init() {}

    func publish(state: Data, metrics: String) {
        latest.withLock { $0 = (state, metrics) }
    }

    public var state: Data { latest.withLock { $0.state } }
    public var metrics: String { latest.withLock { $0.metrics } }
}
