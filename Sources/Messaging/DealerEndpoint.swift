import AgoraProto
import Logging

/// A connected ZeroMQ DEALER socket: talks to one ROUTER and reconnects by itself
/// (with backoff) when the connection drops.
///
/// Agents and frameworks use one to reach the master; executors use one to reach
/// their agent over `ipc://`. Setting `identity` (an agent or framework ID) keeps the
/// routing identity stable across reconnects.
public final class DealerEndpoint: Sendable {
    private let loop: SocketLoop

    /// Connects to `address` (`tcp://HOST:PORT`, `HOST:PORT` or `ipc://PATH`). The
    /// connection is made in the background; `events` reports when it is up.
    public init(connectingTo address: String, identity: PeerID? = nil,
                options: EndpointOptions = EndpointOptions(),
                logger: Logger = Logger(label: "agora.messaging")) throws(MessagingError) {
        loop = try SocketLoop(kind: .dealer, address: address, identity: identity, options: options, logger: logger)
    }

    /// The endpoint this dealer connects to.
    public var remoteAddress: String { loop.localAddress }

    /// Envelopes from the remote end, in order. Iterate from one task only.
    public var messages: DealerMessages { DealerMessages(base: InboundMessages(inbox: loop.inbox)) }

    /// Connection established and lost.
    public var events: AsyncStream<ConnectionEvent> { loop.events }

    /// Current counters (sent, received, dropped by reason).
    public var counters: EndpointCounters { loop.statistics.snapshot }

    /// Queues `envelope`, waiting while the outbox is full (for example while the
    /// remote end is unreachable and ZeroMQ's high-water mark is reached).
    public func send(_ envelope: Agora_V1_Envelope) async throws(MessagingError) {
        try await loop.outbox.push(OutgoingMessage(peer: nil, payload: loop.serialize(envelope)))
    }

    /// Queues `envelope` without waiting; throws `queueFull` when the outbox is full.
    public func trySend(_ envelope: Agora_V1_Envelope) throws(MessagingError) {
        try loop.outbox.tryPush(OutgoingMessage(peer: nil, payload: loop.serialize(envelope)))
    }

    /// Queues an envelope already encoded with `serializedBytes()`, without waiting, for a
    /// sender that sends the same envelope many times (the simulator's agents re-sending
    /// their unchanged reports); throws as `trySend(_:)` does, and when it is too large.
    public func trySend(encoded bytes: [UInt8]) throws(MessagingError) {
        try loop.checkSize(of: bytes)
        try loop.outbox.tryPush(OutgoingMessage(peer: nil, payload: bytes))
    }

    /// Queues one raw frame that is not an encoded envelope, exactly as given. Meant
    /// for tools and tests that exercise how peers treat hostile input.
    public func sendRawFrame(_ bytes: [UInt8]) async throws(MessagingError) {
        try await loop.outbox.push(OutgoingMessage(peer: nil, payload: bytes))
    }

    /// Closes the socket and its context; returns once the I/O thread has exited.
    public func shutdown() async {
        await loop.shutdown()
    }
}

/// The envelopes a dealer receives, as an `AsyncSequence`.
public struct DealerMessages: AsyncSequence, Sendable {
    public typealias Element = Agora_V1_Envelope
    let base: InboundMessages

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: InboundMessages.AsyncIterator

        public mutating func next() async -> Agora_V1_Envelope? {
            await base.next()?.envelope
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> Agora_V1_Envelope? {
            await base.next(isolation: actor)?.envelope
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }
}
