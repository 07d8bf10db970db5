import Synchronization

/// Counters of one endpoint, read at any time from any thread.
public struct EndpointCounters: Sendable, Equatable {
    /// Envelopes handed to ZeroMQ.
    public var sent = 0
    /// Envelopes received, decoded and queued for the consumer.
    public var received = 0
    /// Frames that did not decode as an `Envelope`.
    public var undecodable = 0
    /// Frames larger than `maxMessageSize`.
    public var oversized = 0
    /// Envelopes whose payload is of a type this build does not know.
    public var unknownType = 0
    /// Messages with the wrong number of frames.
    public var malformed = 0
    /// Sends to a peer that is not connected (ROUTER).
    public var unroutable = 0
    /// Sends dropped because the peer's high-water mark was reached (ROUTER).
    public var droppedHighWaterMark = 0
    /// Connections that failed the ZeroMQ handshake (for example raw bytes sent to the port).
    public var handshakeFailures = 0
    /// Connections that ended.
    public var disconnects = 0

    public init() {}

    /// All frames refused for any reason.
    public var dropped: Int {
        undecodable + oversized + unknownType + malformed + unroutable + droppedHighWaterMark
    }
}

/// Lock-free counters written by the I/O thread.
final class EndpointStatistics: Sendable {
    let sent = Atomic<Int>(0)
    let received = Atomic<Int>(0)
    let undecodable = Atomic<Int>(0)
    let oversized = Atomic<Int>(0)
    let unknownType = Atomic<Int>(0)
    let malformed = Atomic<Int>(0)
    let unroutable = Atomic<Int>(0)
    let droppedHighWaterMark = Atomic<Int>(0)
    let handshakeFailures = Atomic<Int>(0)
    let disconnects = Atomic<Int>(0)

    var snapshot: EndpointCounters {
        var counters = EndpointCounters()
        counters.sent = sent.load(ordering: .relaxed)
        counters.received = received.load(ordering: .relaxed)
        counters.undecodable = undecodable.load(ordering: .relaxed)
        counters.oversized = oversized.load(ordering: .relaxed)
        counters.unknownType = unknownType.load(ordering: .relaxed)
        counters.malformed = malformed.load(ordering: .relaxed)
        counters.unroutable = unroutable.load(ordering: .relaxed)
        counters.droppedHighWaterMark = droppedHighWaterMark.load(ordering: .relaxed)
        counters.handshakeFailures = handshakeFailures.load(ordering: .relaxed)
        counters.disconnects = disconnects.load(ordering: .relaxed)
        return counters
    }
}

extension Atomic where Value == Int {
    func increment(by amount: Int = 1) {
        wrappingAdd(amount, ordering: .relaxed)
    }
}
