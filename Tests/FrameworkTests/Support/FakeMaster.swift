import AgoraProto
import Foundation
import Messaging

/// A stand-in for the master: a real ROUTER on loopback that records scheduler calls
/// and sends whatever events a test asks for.
final class FakeMaster: Sendable {
    struct ReceivedCall: Sendable {
        let peer: PeerID
        let call: Agora_V1_Scheduler_Call
    }

    let router: RouterEndpoint
    let calls = Mailbox<ReceivedCall>()
    private let receiver: Task<Void, Never>

    /// Binds `address`; port 0 picks a free one.
    init(binding address: String = "tcp://127.0.0.1:0") throws {
        router = try RouterEndpoint(binding: address)
        let messages = router.messages
        let calls = self.calls
        receiver = Task {
            for await message in messages {
                if case .schedulerCall(let call) = message.envelope.payload {
                    await calls.put(ReceivedCall(peer: message.peer, call: call))
                }
            }
        }
    }

    /// `tcp://127.0.0.1:PORT`.
    var address: String { router.localAddress }

    /// The next call of `type`, skipping others (e.g. SUBSCRIBE retries); `nil` after `timeout`.
    func nextCall(_ type: Agora_V1_Scheduler_Call.TypeEnum, within timeout: Duration = .seconds(10)) async -> ReceivedCall? {
        await calls.first(within: timeout) { $0.call.type == type }
    }

    /// The next SUBSCRIBE that names framework `id`: a re-subscription, not a late retry
    /// of the first SUBSCRIBE (which names none).
    func nextResubscribe(as id: String, within timeout: Duration = .seconds(10)) async -> ReceivedCall? {
        await calls.first(within: timeout) { $0.call.type == .subscribe && $0.call.frameworkID.value == id }
    }

    /// The next call that is not a SUBSCRIBE retry (a loaded machine may answer the
    /// first SUBSCRIBE later than the driver's retry interval).
    func nextNonSubscribeCall(within timeout: Duration = .seconds(10)) async -> ReceivedCall? {
        await calls.first(within: timeout) { $0.call.type != .subscribe }
    }

    func send(_ event: Agora_V1_Scheduler_Event, to peer: PeerID) async throws {
        var envelope = Agora_V1_Envelope()
        envelope.schedulerEvent = event
        try await router.send(envelope, to: peer)
    }

    func sendSubscribed(to peer: PeerID, frameworkID: String, heartbeatSeconds: Double = 15) async throws {
        var event = Agora_V1_Scheduler_Event()
        event.type = .subscribed
        event.subscribed.frameworkID.value = frameworkID
        event.subscribed.heartbeatIntervalSeconds = heartbeatSeconds
        event.subscribed.masterInfo.id = "fake-master"
        try await send(event, to: peer)
    }

    func sendUpdate(to peer: PeerID, taskID: String, agentID: String, state: Agora_V1_TaskState, uuid: Data?) async throws {
        var event = Agora_V1_Scheduler_Event()
        event.type = .update
        event.update.status.taskID.value = taskID
        event.update.status.agentID.value = agentID
        event.update.status.state = state
        if let uuid { event.update.status.uuid = uuid }
        try await send(event, to: peer)
    }

    func shutdown() async {
        await router.shutdown()
        await receiver.value
    }
}
