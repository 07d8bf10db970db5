import AgoraProto
import Foundation
import SwiftProtobuf
import Testing

struct EnvelopeTests {
    @Test func schedulerCallRoundTrips() throws {
        var call = Agora_V1_Scheduler_Call()
        call.type = .accept
        call.frameworkID.value = "framework-1"
        call.accept.offerIds = [Agora_V1_OfferID.with { $0.value = "offer-1" }]
        call.accept.filters.refuseSeconds = 30
        var envelope = Agora_V1_Envelope()
        envelope.protocolVersion = 1
        envelope.schedulerCall = call

        let decoded = try Agora_V1_Envelope(serializedBytes: try envelope.serializedBytes() as [UInt8])
        #expect(decoded == envelope)
        guard case .schedulerCall(let decodedCall)? = decoded.payload else {
            Issue.record("the payload is not a scheduler call")
            return
        }
        #expect(decodedCall.accept.offerIds.first?.value == "offer-1")
    }

    @Test func statusUpdateRoundTrips() throws {
        var update = Agora_V1_StatusUpdate()
        update.agentID.value = "agent-1"
        update.frameworkID.value = "framework-1"
        update.status.taskID.value = "task-1"
        update.status.state = .taskFailed
        update.status.reason = .containerLimitationMemory
        update.status.uuid = Data((0..<16).map { UInt8($0) })
        var envelope = Agora_V1_Envelope()
        envelope.statusUpdate = update
        let decoded = try Agora_V1_Envelope(serializedBytes: try envelope.serializedBytes() as [UInt8])
        #expect(decoded.statusUpdate.status.state == .taskFailed)
        #expect(decoded.statusUpdate.status.reason == .containerLimitationMemory)
        #expect(decoded.statusUpdate.status.uuid.count == 16)
    }

    /// Mesos v1's numbers, so a Mesos client decodes our messages.
    @Test(arguments: [
        (Agora_V1_TaskState.taskStarting, 0), (.taskRunning, 1), (.taskFinished, 2), (.taskFailed, 3),
        (.taskKilled, 4), (.taskLost, 5), (.taskStaging, 6), (.taskError, 7), (.taskKilling, 8),
        (.taskDropped, 9), (.taskUnreachable, 10), (.taskGone, 11), (.taskGoneByOperator, 12), (.taskUnknown, 13),
    ])
    func taskStatesKeepMesosNumbers(state: Agora_V1_TaskState, number: Int) {
        #expect(state.rawValue == number)
    }

    @Test func callAndEventTypesKeepMesosNumbers() {
        #expect(Agora_V1_Scheduler_Call.TypeEnum.suppress.rawValue == 12)
        #expect(Agora_V1_Scheduler_Call.TypeEnum.updateFramework.rawValue == 17)
        #expect(Agora_V1_Scheduler_Event.TypeEnum.heartbeat.rawValue == 8)
        #expect(Agora_V1_Executor_Event.TypeEnum.launchGroup.rawValue == 8)
        #expect(Agora_V1_Offer.Operation.TypeEnum.launchGroup.rawValue == 6)
    }

    /// A known Mesos encoding: field 1 (framework_id) of Call, then type = SUBSCRIBE (2: 1).
    @Test func wireBytesMatchMesosFieldNumbers() throws {
        var call = Agora_V1_Scheduler_Call()
        call.frameworkID.value = "f"
        call.type = .subscribe
        let bytes: [UInt8] = try call.serializedBytes()
        #expect(bytes == [0x0A, 0x03, 0x0A, 0x01, UInt8(ascii: "f"), 0x10, 0x01])
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SeededGenerator(seed: 42)
        var decoded = 0, refused = 0
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...256, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if (try? Agora_V1_Envelope(serializedBytes: bytes)) != nil { decoded += 1 } else { refused += 1 }
        }
        #expect(decoded + refused == 2_000)
        #expect(refused > 0)
    }

    @Test func unknownFieldsSurviveARoundTrip() throws {
        var envelope = Agora_V1_Envelope()
        envelope.ping.sequence = 5
        var bytes: [UInt8] = try envelope.serializedBytes()
        // Field 999, varint 7: what a newer peer might add.
        bytes += [0xB8, 0x3E, 0x07]
        let decoded = try Agora_V1_Envelope(serializedBytes: bytes)
        #expect(decoded.ping.sequence == 5)
        let reencoded: [UInt8] = try decoded.serializedBytes()
        #expect(reencoded.suffix(3) == [0xB8, 0x3E, 0x07])
    }
}

/// A small deterministic generator (SplitMix64) so failures replay.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
