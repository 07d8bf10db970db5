/// Limits and timers of a messaging endpoint. Every queue is bounded.
public struct EndpointOptions: Sendable {
    /// Largest envelope accepted, in bytes. Larger frames are received, dropped and
    /// counted (`oversizedDropped`); the connection stays up.
    public var maxMessageSize: Int = 4 * 1024 * 1024
    /// Frames above this many bytes make libzmq drop the sender's connection before
    /// buffering them (`ZMQ_MAXMSGSIZE`), which bounds the memory a hostile peer can
    /// make us hold. Must be at least `maxMessageSize`.
    public var connectionDropMessageSize: Int = 64 * 1024 * 1024
    /// ZeroMQ high-water marks (messages) for each direction of each connection.
    public var sendHighWaterMark: Int32 = 100_000
    public var receiveHighWaterMark: Int32 = 100_000
    /// Envelopes queued by callers for the I/O thread; `send` waits and `trySend`
    /// throws `queueFull` beyond it.
    public var outboxCapacity: Int = 65_536
    /// Decoded envelopes waiting for the consumer; when full, the I/O thread stops
    /// reading and ZeroMQ's own flow control pushes back on the senders.
    public var inboxCapacity: Int = 65_536
    /// ZeroMQ heartbeat (`ZMQ_HEARTBEAT_IVL`/`TIMEOUT`) in milliseconds; a peer that
    /// stays silent for `heartbeatTimeoutMilliseconds` is disconnected and reported.
    /// 0 disables heartbeats.
    public var heartbeatIntervalMilliseconds: Int32 = 2_000
    public var heartbeatTimeoutMilliseconds: Int32 = 10_000
    /// Dealer reconnect backoff (`ZMQ_RECONNECT_IVL`, `ZMQ_RECONNECT_IVL_MAX`), milliseconds.
    public var reconnectIntervalMilliseconds: Int32 = 100
    public var reconnectIntervalMaxMilliseconds: Int32 = 2_000

    public init() {}
}
