import AgoraProto
import Logging

/// A bound ZeroMQ ROUTER socket: many peers connect to it, each message is tagged
/// with the sender's identity, and replies are addressed to an identity.
///
/// The master binds one for agents and frameworks; an agent binds one on `ipc://`
/// for its executors. Call `shutdown()` when done: it closes the socket without
/// waiting for undelivered messages.
public final class RouterEndpoint: Sendable {
    private let loop: SocketLoop

    /// Binds `address` (`tcp://HOST:PORT`, `HOST:PORT` or `ipc://PATH`; port 0 picks a free port).
    public init(binding address: String, options: EndpointOptions = EndpointOptions(),
                logger: Logger = Logger(label: "agora.messaging")) throws(MessagingError) {
        loop = try SocketLoop(kind: .router, address: address, identity: nil, options: options, logger: logger)
    }

    /// The bound endpoint with the real port, e.g. `tcp://127.0.0.1:40123`.
    public var localAddress: String { loop.localAddress }

    /// Envelopes from all peers, in arrival order. Iterate from one task only.
    public var messages: InboundMessages { InboundMessages(inbox: loop.inbox) }

    /// Peers connecting and going away, and failed handshakes.
    public var events: AsyncStream<ConnectionEvent> { loop.events }

    /// Current counters (sent, received, dropped by reason).
    public var counters: EndpointCounters { loop.statistics.snapshot }

    /// Queues `envelope` for `peer`, waiting while the outbox is full. A peer that is
    /// not connected when the I/O thread gets to it is counted as `unroutable`.
    public func send(_ envelope: Agora_V1_Envelope, to peer: PeerID) async throws(MessagingError) {
        try await loop.outbox.push(OutgoingMessage(peer: peer, payload: loop.serialize(envelope)))
    }

    /// Queues `envelope` for `peer` without waiting; throws `queueFull` when the outbox is full.
    public func trySend(_ envelope: Agora_V1_Envelope, to peer: PeerID) throws(MessagingError) {
        try loop.outbox.tryPush(OutgoingMessage(peer: peer, payload: loop.serialize(envelope)))
    }

    /// Closes the socket and its context; returns once the I/O thread has exited.
    public func shutdown() async {
        await loop.shutdown()
    }

    /// Closes the socket and its context soon, without waiting: for an endpoint given up
    /// where nothing can wait (a failed initializer).
    public func shutdownWithoutWaiting() {
        loop.requestShutdown()
    }
}

/// The messages an endpoint receives, as an `AsyncSequence` with backpressure.
public struct InboundMessages: AsyncSequence, Sendable {
    public typealias Element = InboundMessage
    let inbox: Inbox<InboundMessage>

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let inbox: Inbox<InboundMessage>

        public mutating func next() async -> InboundMessage? {
            await inbox.next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> InboundMessage? {
            await inbox.next(isolation: actor)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inbox: inbox)
    }
}
