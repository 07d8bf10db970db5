import AgoraProto
import CZeroMQ
import Foundation
import Logging
import Synchronization

/// One ZeroMQ socket and the dedicated OS thread that owns it.
///
/// ZeroMQ sockets are not thread-safe, and `zmq_poll` blocks, so neither may run on
/// the Swift concurrency pool. Callers hand serialized envelopes to the thread through
/// the `Outbox` and an eventfd wake-up; the thread decodes what arrives and passes it
/// on through the `Inbox`. Everything after `init` that touches `context`, `socket` or
/// `monitor` runs on the I/O thread only — which is what makes `@unchecked Sendable`
/// sound here.
final class SocketLoop: @unchecked Sendable {
    enum Kind: Sendable { case router, dealer }

    let kind: Kind
    let options: EndpointOptions
    /// The endpoint as ZeroMQ resolved it (`tcp://127.0.0.1:40123`).
    let localAddress: String
    let statistics = EndpointStatistics()
    let inbox: Inbox<InboundMessage>
    let outbox: Outbox
    let events: AsyncStream<ConnectionEvent>

    private let eventsContinuation: AsyncStream<ConnectionEvent>.Continuation
    private let wakeFD: Int32
    private let stopRequested = Atomic<Bool>(false)
    private let completion = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let logger: Logger

    // Owned by the I/O thread once it has started.
    private let context: UnsafeMutableRawPointer
    private let socket: UnsafeMutableRawPointer
    private let monitor: UnsafeMutableRawPointer
    private var peersByConnection: [Int32: Set<PeerID>] = [:]
    private var peersLoggedAsUndecodable: Set<PeerID> = []
    /// Messages taken from the outbox that ZeroMQ could not accept yet (DEALER at its
    /// high-water mark); sent first once the socket is writable again.
    private var blocked = RingBuffer<OutgoingMessage>()

    private static let monitorCounter = Atomic<Int>(0)
    private static let remotePeer = PeerID("remote")

    init(kind: Kind, address: String, identity: PeerID?, options: EndpointOptions, logger: Logger) throws(MessagingError) {
        let endpoint = try ZeroMQAddress.endpoint(for: address)
        guard options.maxMessageSize > 0, options.connectionDropMessageSize >= options.maxMessageSize else {
            throw MessagingError(.invalidAddress, "connectionDropMessageSize must be at least maxMessageSize")
        }
        if let identity, identity.bytes.isEmpty || identity.bytes.count > 255 || identity.bytes[0] == 0 {
            throw MessagingError(.invalidAddress, "a peer identity must be 1 to 255 bytes and not start with a zero byte")
        }
        self.kind = kind
        self.options = options
        self.logger = logger

        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw MessagingError(.zeroMQ(errno: errno), "eventfd failed: \(String(cString: strerror(errno)))") }
        self.wakeFD = wakeFD
        let wake: @Sendable () -> Void = { Self.signal(wakeFD) }
        self.inbox = Inbox(capacity: options.inboxCapacity, wakeProducer: wake)
        self.outbox = Outbox(capacity: options.outboxCapacity, wakeConsumer: wake)
        (self.events, self.eventsContinuation) = AsyncStream.makeStream(of: ConnectionEvent.self, bufferingPolicy: .bufferingNewest(4_096))

        guard let context = zmq_ctx_new() else {
            close(wakeFD)
            throw Self.lastError("zmq_ctx_new")
        }
        zmq_ctx_set(context, ZMQ_IO_THREADS, 1)
        guard let socket = zmq_socket(context, kind == .router ? ZMQ_ROUTER : ZMQ_DEALER) else {
            zmq_ctx_term(context)
            close(wakeFD)
            throw Self.lastError("zmq_socket")
        }
        self.context = context
        self.socket = socket

        var monitorSocket: UnsafeMutableRawPointer?
        do throws(MessagingError) {
            try Self.setOption(socket, ZMQ_LINGER, Int32(0))
            try Self.setOption(socket, ZMQ_SNDHWM, options.sendHighWaterMark)
            try Self.setOption(socket, ZMQ_RCVHWM, options.receiveHighWaterMark)
            try Self.setOption(socket, ZMQ_MAXMSGSIZE, Int64(options.connectionDropMessageSize))
            if options.heartbeatIntervalMilliseconds > 0 {
                try Self.setOption(socket, ZMQ_HEARTBEAT_IVL, options.heartbeatIntervalMilliseconds)
                try Self.setOption(socket, ZMQ_HEARTBEAT_TIMEOUT, options.heartbeatTimeoutMilliseconds)
                try Self.setOption(socket, ZMQ_HEARTBEAT_TTL, options.heartbeatTimeoutMilliseconds)
            }
            switch kind {
            case .router:
                try Self.setOption(socket, ZMQ_ROUTER_MANDATORY, Int32(1))
            case .dealer:
                try Self.setOption(socket, ZMQ_RECONNECT_IVL, options.reconnectIntervalMilliseconds)
                try Self.setOption(socket, ZMQ_RECONNECT_IVL_MAX, options.reconnectIntervalMaxMilliseconds)
                if let identity {
                    let rc = identity.bytes.withUnsafeBytes { zmq_setsockopt(socket, ZMQ_ROUTING_ID, $0.baseAddress, $0.count) }
                    if rc != 0 { throw Self.lastError("setting the routing identity") }
                }
            }

            let monitorAddress = "inproc://agora-monitor-\(Self.monitorCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
            let monitored = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            guard zmq_socket_monitor(socket, monitorAddress, monitored) == 0 else { throw Self.lastError("zmq_socket_monitor") }
            guard let pair = zmq_socket(context, ZMQ_PAIR) else { throw Self.lastError("zmq_socket(PAIR)") }
            monitorSocket = pair
            try Self.setOption(pair, ZMQ_LINGER, Int32(0))
            guard zmq_connect(pair, monitorAddress) == 0 else { throw Self.lastError("connecting the monitor") }

            let rc = kind == .router ? zmq_bind(socket, endpoint) : zmq_connect(socket, endpoint)
            if rc != 0 {
                let failure = Self.lastError(kind == .router ? "binding \(endpoint)" : "connecting to \(endpoint)")
                throw MessagingError(failure.code == .zeroMQ(errno: EINVAL) ? .invalidAddress : failure.code, failure.description)
            }
        } catch {
            if let monitorSocket { zmq_close(monitorSocket) }
            zmq_socket_monitor(socket, nil, 0)
            zmq_close(socket)
            zmq_ctx_term(context)
            close(wakeFD)
            throw error
        }
        self.monitor = monitorSocket!

        if kind == .router {
            var buffer = [UInt8](repeating: 0, count: 1_024)
            var size = buffer.count
            zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, &buffer, &size)
            self.localAddress = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        } else {
            self.localAddress = endpoint
        }

        let thread = Thread { [self] in self.run() }
        thread.name = "agora-zmq-\(kind)"
        thread.start()
    }

    deinit {
        close(wakeFD)
    }

    /// Asks the I/O thread to stop, without waiting for it: it closes the socket and
    /// context and exits shortly after.
    func requestShutdown() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        Self.signal(wakeFD)
    }

    /// Asks the I/O thread to stop and waits until the socket and context are closed.
    /// Messages still queued are discarded (linger 0), so this never hangs.
    func shutdown() async {
        requestShutdown()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = completion.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    /// Serializes an envelope on the caller's thread, so the I/O thread only copies bytes.
    func serialize(_ envelope: Agora_V1_Envelope) throws(MessagingError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try envelope.serializedBytes()
        } catch {
            throw MessagingError(.encodingFailed, "the envelope could not be serialized: \(error)")
        }
        try checkSize(of: bytes)
        return bytes
    }

    /// Refuses an encoded envelope larger than `maxMessageSize`.
    func checkSize(of bytes: [UInt8]) throws(MessagingError) {
        guard bytes.count <= options.maxMessageSize else {
            throw MessagingError(.messageTooLarge, "the envelope is \(bytes.count) bytes; the limit is \(options.maxMessageSize)")
        }
    }

    // MARK: - The I/O thread

    private func run() {
        var items = [zmq_pollitem_t](repeating: zmq_pollitem_t(), count: 3)
        items[0].socket = socket
        items[1].socket = monitor
        items[1].events = Int16(ZMQ_POLLIN)
        items[2].fd = wakeFD
        items[2].events = Int16(ZMQ_POLLIN)

        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            let readPaused = inbox.isProducerPaused
            var interest: Int32 = readPaused ? 0 : ZMQ_POLLIN
            if !blocked.isEmpty { interest |= ZMQ_POLLOUT }
            items[0].events = Int16(interest)
            let ready = zmq_poll(&items, 3, -1)
            if ready < 0 {
                if zmq_errno() == EINTR { continue }
                logger.error("zmq_poll failed; closing the endpoint", metadata: ["error": "\(Self.lastError("zmq_poll"))"])
                break
            }
            if items[2].revents & Int16(ZMQ_POLLIN) != 0 { Self.clearSignal(wakeFD) }
            sendQueued()
            if !readPaused { receiveAvailable() }
            if items[1].revents & Int16(ZMQ_POLLIN) != 0 { readMonitorEvents() }
        }
        tearDown()
    }

    private func sendQueued() {
        // What the DEALER could not hand over before goes first, in order; while any
        // of it is left the outbox is not drained, so callers feel the backpressure.
        while let message = blocked.popFirst() {
            if !send(message) {
                blocked.prepend(message)
                return
            }
        }
        var messages = outbox.drain().makeIterator()
        while let message = messages.next() {
            if !send(message) {
                blocked.append(message)
                while let rest = messages.next() { blocked.append(rest) }
                return
            }
        }
    }

    /// Hands one message to ZeroMQ. Returns `false` only when a DEALER is at its
    /// high-water mark and must retry once the socket is writable.
    private func send(_ message: OutgoingMessage) -> Bool {
        if let peer = message.peer {
            let rc = peer.bytes.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, ZMQ_DONTWAIT | ZMQ_SNDMORE) }
            if rc < 0 {
                // ROUTER_MANDATORY: the peer is gone (EHOSTUNREACH) or not reading (EAGAIN).
                if zmq_errno() == EAGAIN {
                    statistics.droppedHighWaterMark.increment()
                } else {
                    statistics.unroutable.increment()
                }
                return true
            }
        }
        let rc = message.payload.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, ZMQ_DONTWAIT) }
        if rc < 0 {
            if zmq_errno() == EAGAIN, kind == .dealer { return false }
            statistics.droppedHighWaterMark.increment()
            return true
        }
        statistics.sent.increment()
        return true
    }

    /// Reads messages until the socket has none or a batch is done (so sends and
    /// monitor events are not starved), handing them to the inbox in small batches:
    /// one lock and at most one consumer wake-up per batch.
    private func receiveAvailable() {
        var batch: [InboundMessage] = []
        batch.reserveCapacity(Self.inboxBatchSize)
        for _ in 0..<4_096 {
            guard let (peer, connection, frame) = receiveMessage() else { break }
            if let message = decode(frame, from: peer, connection: connection) { batch.append(message) }
            if batch.count == Self.inboxBatchSize {
                defer { batch.removeAll(keepingCapacity: true) }
                if !inbox.push(contentsOf: batch) { return }
            }
        }
        _ = inbox.push(contentsOf: batch)
    }

    private static let inboxBatchSize = 256

    /// One complete ZeroMQ message: (peer, connection fd, payload frame). Oversized
    /// and malformed messages are counted and skipped; `nil` when nothing is waiting.
    private func receiveMessage() -> (PeerID, Int32, [UInt8])? {
        let expectedFrames = kind == .router ? 2 : 1
        while true {
            var frames: [[UInt8]] = []
            var connection: Int32 = -1
            var oversized = false
            repeat {
                var message = zmq_msg_t()
                zmq_msg_init(&message)
                defer { zmq_msg_close(&message) }
                // Later parts of a multipart message are already here: ZeroMQ delivers
                // messages whole.
                if zmq_msg_recv(&message, socket, frames.isEmpty ? ZMQ_DONTWAIT : 0) < 0 { return nil }
                // A ROUTER builds the identity frame itself, so only the payload
                // frame carries the connection's file descriptor.
                let sourceFD = zmq_msg_get(&message, ZMQ_SRCFD)
                if sourceFD >= 0 { connection = sourceFD }
                let size = zmq_msg_size(&message)
                if size > options.maxMessageSize {
                    oversized = true
                    frames.append([])
                } else {
                    let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(&message), count: size)
                    frames.append(Array(bytes))
                }
            } while hasMoreFrames(socket)

            if oversized {
                statistics.oversized.increment()
            } else if frames.count != expectedFrames {
                statistics.malformed.increment()
            } else {
                let peer = kind == .router ? PeerID(bytes: frames[0]) : Self.remotePeer
                return (peer, connection, frames[expectedFrames - 1])
            }
        }
    }

    /// Decodes one payload; `nil` (counted) when it is not a usable envelope.
    private func decode(_ frame: [UInt8], from peer: PeerID, connection: Int32) -> InboundMessage? {
        if kind == .router, connection >= 0 {
            let isNew = peersByConnection[connection, default: []].insert(peer).inserted
            if isNew { eventsContinuation.yield(.peerConnected(peer)) }
        }
        let envelope: Agora_V1_Envelope
        do {
            envelope = try Agora_V1_Envelope(serializedBytes: frame)
        } catch {
            statistics.undecodable.increment()
            if peersLoggedAsUndecodable.insert(peer).inserted {
                logger.warning("dropping a frame that is not an Agora envelope (logged once per peer)",
                               metadata: ["peer": "\(peer)", "bytes": "\(frame.count)", "error": "\(error)"])
            }
            return nil
        }
        guard envelope.payload != nil else {
            statistics.unknownType.increment()
            return nil
        }
        statistics.received.increment()
        return InboundMessage(peer: peer, envelope: envelope)
    }

    private func readMonitorEvents() {
        while true {
            var first = zmq_msg_t()
            zmq_msg_init(&first)
            defer { zmq_msg_close(&first) }
            guard zmq_msg_recv(&first, monitor, ZMQ_DONTWAIT) >= 0 else { return }
            var event: UInt16 = 0
            var value: UInt32 = 0
            if zmq_msg_size(&first) >= Int(AGORA_ZMQ_MONITOR_EVENT_FRAME_SIZE) {
                let raw = UnsafeRawPointer(zmq_msg_data(&first)!)
                event = raw.loadUnaligned(as: UInt16.self)
                value = raw.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            }
            var address = ""
            while hasMoreFrames(monitor) {
                var part = zmq_msg_t()
                zmq_msg_init(&part)
                if zmq_msg_recv(&part, monitor, 0) >= 0 {
                    address = String(decoding: UnsafeRawBufferPointer(start: zmq_msg_data(&part), count: zmq_msg_size(&part)), as: UTF8.self)
                }
                zmq_msg_close(&part)
            }
            handleMonitorEvent(Int32(event), value: Int32(bitPattern: value), address: address)
        }
    }

    private func handleMonitorEvent(_ event: Int32, value: Int32, address: String) {
        switch event {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED where kind == .dealer:
            eventsContinuation.yield(.connected(endpoint: address))
        case ZMQ_EVENT_DISCONNECTED:
            statistics.disconnects.increment()
            switch kind {
            case .dealer:
                eventsContinuation.yield(.disconnected(endpoint: address))
            case .router:
                for peer in peersByConnection.removeValue(forKey: value) ?? [] {
                    eventsContinuation.yield(.peerDisconnected(peer))
                }
            }
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            statistics.handshakeFailures.increment()
            eventsContinuation.yield(.handshakeFailed(endpoint: address))
        default:
            break
        }
    }

    private func tearDown() {
        outbox.close()
        zmq_socket_monitor(socket, nil, 0)
        zmq_close(monitor)
        zmq_close(socket)
        zmq_ctx_term(context)
        inbox.finish()
        eventsContinuation.finish()
        let waiters = completion.withLock { state in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: - Helpers

    private static func signal(_ fd: Int32) {
        var one: UInt64 = 1
        _ = write(fd, &one, MemoryLayout<UInt64>.size)
    }

    private static func clearSignal(_ fd: Int32) {
        var count: UInt64 = 0
        _ = read(fd, &count, MemoryLayout<UInt64>.size)
    }

    private static func setOption<T: BitwiseCopyable>(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: T) throws(MessagingError) {
        let rc = withUnsafeBytes(of: value) { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        if rc != 0 {
            throw lastError("zmq_setsockopt(\(option))")
        }
    }

    static func lastError(_ operation: String) -> MessagingError {
        let code = zmq_errno()
        return MessagingError(.zeroMQ(errno: code), "\(operation) failed: \(String(cString: zmq_strerror(code)))")
    }
}

private func hasMoreFrames(_ socket: UnsafeMutableRawPointer) -> Bool {
    var more: Int32 = 0
    var size = MemoryLayout<Int32>.size
    zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &size)
    return more != 0
}
