import AgoraProto
import Foundation
import Messaging

// Agora's side of the messaging benchmark: the same DEALER -> ROUTER traffic as
// raw-zmq/zmq_bench.c, but through Agora's endpoints, with every message a full
// protobuf Envelope (a framework message carrying SIZE bytes of data) that is
// encoded by the sender and decoded by the receiver.
//
//   MessagingBench throughput SIZE COUNT
//   MessagingBench latency SIZE COUNT

func envelope(carrying data: Data) -> Agora_V1_Envelope {
    var message = Agora_V1_Scheduler_Call()
    message.type = .message
    message.message.data = data
    message.message.agentID.value = "bench-agent"
    message.message.executorID.value = "bench-executor"
    var envelope = Agora_V1_Envelope()
    envelope.schedulerCall = message
    return envelope
}

func payloadSize(of envelope: Agora_V1_Envelope) -> Int {
    envelope.schedulerCall.message.data.count
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count == 4, ["throughput", "latency", "codec"].contains(arguments[1]),
      let size = Int(arguments[2]), let count = Int(arguments[3]), size > 0, count > 0
else { fail("usage: MessagingBench throughput|latency|codec SIZE COUNT") }
let mode = arguments[1]
let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

if mode == "codec" {
    // Encoding and decoding alone: the protobuf work every message costs on top of
    // what ZeroMQ does, with no sockets involved.
    let original = envelope(carrying: Data(repeating: 7, count: size))
    let start = clock.now
    var checksum = 0
    for _ in 0..<count {
        let bytes: [UInt8] = try original.serializedBytes()
        checksum &+= payloadSize(of: try Agora_V1_Envelope(serializedBytes: bytes))
    }
    let elapsed = seconds(clock.now - start)
    guard checksum == size &* count else { fail("a message was damaged") }
    print(#"{"impl":"agora","mode":"codec","size":\#(size),"count":\#(count),"msgs_per_sec":\#(Int(Double(count) / elapsed))}"#)
    exit(0)
}

let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
let dealer = try DealerEndpoint(connectingTo: router.localAddress)
let outgoing = envelope(carrying: Data(repeating: 7, count: size))

if mode == "throughput" {
    let sender = Task.detached {
        for _ in 0..<count { try await dealer.send(outgoing) }
    }
    var received = 0
    var start = clock.now
    for await message in router.messages {
        if received == 0 { start = clock.now }
        guard payloadSize(of: message.envelope) == size else { fail("a message arrived damaged") }
        received += 1
        if received == count { break }
    }
    let elapsed = seconds(clock.now - start)
    try await sender.value
    // The clock starts at the first arrival, so count the messages after it.
    let rate = Double(count - 1) / elapsed
    print(#"{"impl":"agora","mode":"throughput","size":\#(size),"count":\#(count),"msgs_per_sec":\#(Int(rate)),"mb_per_sec":\#(String(format: "%.1f", rate * Double(size) / 1e6))}"#)
} else {
    var routerMessages = router.messages.makeAsyncIterator()
    var dealerMessages = dealer.messages.makeAsyncIterator()
    var samples: [Double] = []
    samples.reserveCapacity(count)
    for round in -100..<count {  // 100 warm-up round trips
        let start = clock.now
        try await dealer.send(outgoing)
        guard let request = await routerMessages.next() else { fail("the router closed") }
        try await router.send(request.envelope, to: request.peer)
        guard await dealerMessages.next() != nil else { fail("the dealer closed") }
        if round >= 0 { samples.append(seconds(clock.now - start)) }
    }
    samples.sort()
    let p50 = samples[count / 2] * 1e6
    let p99 = samples[Int(Double(count) * 0.99)] * 1e6
    print(#"{"impl":"agora","mode":"latency","size":\#(size),"count":\#(count),"p50_us":\#(String(format: "%.1f", p50)),"p99_us":\#(String(format: "%.1f", p99))}"#)
}
await dealer.shutdown()
await router.shutdown()
