import AgoraProto
import Foundation
import Messaging
import Testing

/// Real ZeroMQ sockets over loopback TCP and ipc, with ephemeral ports.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct MessagingTests {
    @Test func roundTripOverTCP() async throws {
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
        let dealer = try DealerEndpoint(connectingTo: router.localAddress, identity: PeerID("framework-1"))

        try await dealer.send(.testMessage(sequence: 1, data: "ping"))
        var routerMessages = router.messages.makeAsyncIterator()
        let request = try #require(await routerMessages.next())
        #expect(request.peer == PeerID("framework-1"))
        #expect(request.envelope.testSequence == 1)
        #expect(request.envelope.testData == "ping")

        try await router.send(.testMessage(sequence: 2, data: "pong"), to: request.peer)
        var dealerMessages = dealer.messages.makeAsyncIterator()
        let reply = try #require(await dealerMessages.next())
        #expect(reply.testSequence == 2)
        #expect(reply.testData == "pong")

        await dealer.shutdown()
        await router.shutdown()
    }

    @Test func roundTripOverIPC() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agora-ipc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let address = "ipc://\(directory.path)/executors.sock"

        let router = try RouterEndpoint(binding: address)
        let dealer = try DealerEndpoint(connectingTo: address)
        try await dealer.send(.testMessage(sequence: 7, data: "over ipc"))
        var messages = router.messages.makeAsyncIterator()
        let message = try #require(await messages.next())
        #expect(message.envelope.testData == "over ipc")
        await dealer.shutdown()
        await router.shutdown()
    }

    @Test func hundredThousandMessagesArriveInOrder() async throws {
        let count = 100_000
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
        let dealer = try DealerEndpoint(connectingTo: router.localAddress)

        let sender = Task {
            for sequence in 0..<count {
                try await dealer.send(.testMessage(sequence: UInt64(sequence), data: "x"))
            }
        }
        var expected: UInt64 = 0
        for await message in router.messages {
            #expect(message.envelope.testSequence == expected, "message \(expected) arrived out of order")
            if message.envelope.testSequence != expected { break }
            expected += 1
            if expected == count { break }
        }
        try await sender.value
        #expect(expected == UInt64(count))
        #expect(router.counters.received == count)
        #expect(router.counters.dropped == 0)
        await dealer.shutdown()
        await router.shutdown()
    }

    @Test func disappearingPeerIsReported() async throws {
        var options = EndpointOptions()
        options.heartbeatIntervalMilliseconds = 100
        options.heartbeatTimeoutMilliseconds = 500
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0", options: options)
        let dealer = try DealerEndpoint(connectingTo: router.localAddress, identity: PeerID("agent-7"), options: options)
        try await dealer.send(.testMessage(sequence: 1, data: "hello"))
        var messages = router.messages.makeAsyncIterator()
        _ = await messages.next()

        var events = router.events.makeAsyncIterator()
        #expect(await events.next() == .peerConnected(PeerID("agent-7")))
        await dealer.shutdown()
        #expect(await events.next() == .peerDisconnected(PeerID("agent-7")))
        #expect(router.counters.disconnects == 1)
        await router.shutdown()
    }

    @Test func dealerReportsConnectionAndReconnectsAfterRouterRestart() async throws {
        let first = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
        let address = first.localAddress
        let dealer = try DealerEndpoint(connectingTo: address, identity: PeerID("agent-1"))
        var events = dealer.events.makeAsyncIterator()
        #expect(await events.next() == .connected(endpoint: address))
        await first.shutdown()
        #expect(await events.next() == .disconnected(endpoint: address))

        // A new router on the same port: the dealer reconnects by itself.
        let second = try RouterEndpoint(binding: address)
        #expect(await events.next() == .connected(endpoint: address))
        try await dealer.send(.testMessage(sequence: 9, data: "back"))
        var messages = second.messages.makeAsyncIterator()
        let message = try #require(await messages.next())
        #expect(message.peer == PeerID("agent-1"))
        #expect(message.envelope.testSequence == 9)
        await dealer.shutdown()
        await second.shutdown()
    }

    @Test func oversizedAndGarbageFramesAreDroppedAndCounted() async throws {
        var small = EndpointOptions()
        small.maxMessageSize = 1_000
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0", options: small)
        let dealer = try DealerEndpoint(connectingTo: router.localAddress)

        try await dealer.send(.testMessage(sequence: 1, data: String(repeating: "a", count: 5_000)))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let garbage = (0..<Int.random(in: 1...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try await dealer.sendRawFrame(garbage)
        }
        try await dealer.send(.testMessage(sequence: 2, data: "still served"))

        var messages = router.messages.makeAsyncIterator()
        var delivered: [Agora_V1_Envelope] = []
        while let message = await messages.next() {
            delivered.append(message.envelope)
            if message.envelope.testSequence == 2 { break }
        }
        let counters = router.counters
        #expect(counters.oversized == 1)
        // Random bytes sometimes happen to decode as an envelope with no known payload.
        #expect(counters.undecodable + counters.unknownType + (delivered.count - 1) == 50)
        #expect(delivered.last?.testData == "still served")
        #expect(delivered.allSatisfy { $0.testSequence != 1 })
        await dealer.shutdown()
        await router.shutdown()
    }

    @Test func rawTCPGarbageFailsTheHandshakeAndIsCounted() async throws {
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
        let port = try #require(Int(router.localAddress.split(separator: ":").last ?? ""))
        try sendRawTCP(Array(repeating: 0xFF, count: 64) + Array("GET / HTTP/1.1\r\n\r\n".utf8), toPort: port)

        var events = router.events.makeAsyncIterator()
        while let event = await events.next() {
            if case .handshakeFailed = event { break }
        }
        #expect(router.counters.handshakeFailures >= 1)

        // The endpoint still serves real peers.
        let dealer = try DealerEndpoint(connectingTo: router.localAddress)
        try await dealer.send(.testMessage(sequence: 3, data: "fine"))
        var messages = router.messages.makeAsyncIterator()
        #expect(await messages.next()?.envelope.testData == "fine")
        await dealer.shutdown()
        await router.shutdown()
    }

    @Test func sendToUnknownPeerIsCountedAsUnroutable() async throws {
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
        let dealer = try DealerEndpoint(connectingTo: router.localAddress, identity: PeerID("known"))
        try await router.send(.testMessage(sequence: 1, data: "nobody"), to: PeerID("unknown"))
        try await dealer.send(.testMessage(sequence: 2, data: "sync"))
        var messages = router.messages.makeAsyncIterator()
        _ = await messages.next()
        // The router handled its outbox before it read the dealer's message.
        #expect(router.counters.unroutable == 1)
        await dealer.shutdown()
        await router.shutdown()
    }

    @Test func shutdownWithMessagesInFlightCompletesWithinASecond() async throws {
        let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
        // Nobody reads the router's messages, and a dealer to a port nobody listens on
        // holds its messages forever: both shut down anyway.
        let dealer = try DealerEndpoint(connectingTo: router.localAddress)
        let stranded = try DealerEndpoint(connectingTo: "tcp://127.0.0.1:1")
        for sequence in 0..<20_000 {
            try dealer.trySend(.testMessage(sequence: UInt64(sequence), data: "in flight"))
            try? stranded.trySend(.testMessage(sequence: UInt64(sequence), data: "stranded"))
        }
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            await stranded.shutdown()
            await dealer.shutdown()
            await router.shutdown()
        }
        #expect(elapsed < .seconds(1), "shutdown took \(elapsed)")
        #expect(throws: MessagingError.self) { try dealer.trySend(.testMessage(sequence: 0, data: "late")) }
    }

    @Test(arguments: ["", "nohostport", "tcp://host:notaport", "tcp://:5050", "host:70000"])
    func invalidAddressesAreRejectedWithAReason(address: String) throws {
        let error = try #require(throws: MessagingError.self) { try RouterEndpoint(binding: address) }
        #expect(error.code == .invalidAddress)
        #expect(error.description.contains("invalid address"))
    }

    @Test func addressForms() throws {
        #expect(try ZeroMQAddress.endpoint(for: "localhost:5050") == "tcp://localhost:5050")
        #expect(try ZeroMQAddress.endpoint(for: "tcp://10.0.0.1:0") == "tcp://10.0.0.1:*")
        #expect(try ZeroMQAddress.endpoint(for: "ipc:///tmp/agent.sock") == "ipc:///tmp/agent.sock")
    }
}

/// Opens a plain TCP connection, writes `bytes` and closes it.
private func sendRawTCP(_ bytes: [UInt8], toPort port: Int) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var timeout = timeval(tv_sec: 3, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    // Give libzmq the chance to read before the connection closes.
    var buffer = [UInt8](repeating: 0, count: 64)
    _ = read(fd, &buffer, buffer.count)
}

extension Agora_V1_Envelope {
    /// A framework message whose executor ID carries a sequence number.
    static func testMessage(sequence: UInt64, data: String) -> Agora_V1_Envelope {
        var call = Agora_V1_Scheduler_Call()
        call.type = .message
        call.message.agentID.value = "agent"
        call.message.executorID.value = String(sequence)
        call.message.data = Data(data.utf8)
        var envelope = Agora_V1_Envelope()
        envelope.schedulerCall = call
        return envelope
    }

    var testSequence: UInt64 { UInt64(schedulerCall.message.executorID.value) ?? .max }
    var testData: String { String(decoding: schedulerCall.message.data, as: UTF8.self) }
}
