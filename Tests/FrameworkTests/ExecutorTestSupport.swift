import AgoraProto
import Foundation
import Framework
import Messaging

/// A stand-in for the agent's executor socket: a real ROUTER on `ipc://` that records
/// executor calls and sends whatever events a test asks for.
final class FakeAgent: Sendable {
    struct ReceivedCall: Sendable {
        let peer: PeerID
        let call: Agora_V1_Executor_Call
    }

    let address: String
    let router: RouterEndpoint
    let calls = Mailbox<ReceivedCall>()
    private let receiver: Task<Void, Never>

    /// A fresh `ipc://` address under /tmp, unique per call.
    static func uniqueAddress() -> String {
        "ipc:///tmp/agora-executor-test-\(UUID().uuidString.prefix(13)).sock"
    }

    /// Binds `address` (an agent restarting binds the same one again).
    init(binding address: String) throws {
        self.address = address
        router = try RouterEndpoint(binding: address)
        let messages = router.messages
        let calls = self.calls
        receiver = Task {
            for await message in messages {
                if case .executorCall(let call) = message.envelope.payload {
                    await calls.put(ReceivedCall(peer: message.peer, call: call))
                }
            }
        }
    }

    /// The next call of `type`, skipping others; `nil` after `timeout`.
    func nextCall(_ type: Agora_V1_Executor_Call.TypeEnum, within timeout: Duration = .seconds(10)) async -> ReceivedCall? {
        await calls.first(within: timeout) { $0.call.type == type }
    }

    func send(_ event: Agora_V1_Executor_Event, to peer: PeerID) async throws {
        var envelope = Agora_V1_Envelope()
        envelope.executorEvent = event
        try await router.send(envelope, to: peer)
    }

    func sendSubscribed(to peer: PeerID) async throws {
        var event = Agora_V1_Executor_Event()
        event.type = .subscribed
        event.subscribed.executorInfo.executorID.value = "exec-1"
        event.subscribed.executorInfo.name = "test executor"
        event.subscribed.frameworkInfo.name = "test-framework"
        event.subscribed.agentInfo.hostname = "agent-host"
        event.subscribed.containerID.value = "container-1"
        try await send(event, to: peer)
    }

    func sendLaunch(_ taskID: String, to peer: PeerID) async throws {
        var event = Agora_V1_Executor_Event()
        event.type = .launch
        event.launch.task.taskID.value = taskID
        event.launch.task.name = "task \(taskID)"
        try await send(event, to: peer)
    }

    func acknowledge(_ status: Agora_V1_TaskStatus, to peer: PeerID) async throws {
        var event = Agora_V1_Executor_Event()
        event.type = .acknowledged
        event.acknowledged.taskID = status.taskID
        event.acknowledged.uuid = status.uuid
        try await send(event, to: peer)
    }

    /// Closes the socket and removes its file, as a stopped agent would.
    func shutdown() async {
        await router.shutdown()
        await receiver.value
        if address.hasPrefix("ipc://") { try? FileManager.default.removeItem(atPath: String(address.dropFirst(6))) }
    }
}

/// An executor that records every callback for the test to await.
final class RecordingExecutor: Executor {
    enum Callback: Sendable {
        case registered(executorID: String, frameworkName: String, agentHostname: String)
        case reregistered(agentHostname: String)
        case launch(Agora_V1_TaskInfo)
        case kill(taskID: String, killPolicy: Agora_V1_KillPolicy?)
        case message(Data)
        case shutdown
        case error(String)
        case disconnected
    }

    let callbacks = Mailbox<Callback>()
    /// What `shutdown` does after recording; by default nothing.
    let onShutdown: @Sendable (ExecutorDriver) async -> Void

    init(onShutdown: @escaping @Sendable (ExecutorDriver) async -> Void = { _ in }) {
        self.onShutdown = onShutdown
    }

    func registered(_ driver: ExecutorDriver, executorInfo: Agora_V1_ExecutorInfo,
                    frameworkInfo: Agora_V1_FrameworkInfo, agentInfo: Agora_V1_AgentInfo) async {
        await callbacks.put(.registered(executorID: executorInfo.executorID.value, frameworkName: frameworkInfo.name,
                                        agentHostname: agentInfo.hostname))
    }

    func reregistered(_ driver: ExecutorDriver, agentInfo: Agora_V1_AgentInfo) async {
        await callbacks.put(.reregistered(agentHostname: agentInfo.hostname))
    }

    func launchTask(_ driver: ExecutorDriver, task: Agora_V1_TaskInfo) async {
        await callbacks.put(.launch(task))
    }

    func killTask(_ driver: ExecutorDriver, taskID: String, killPolicy: Agora_V1_KillPolicy?) async {
        await callbacks.put(.kill(taskID: taskID, killPolicy: killPolicy))
    }

    func frameworkMessage(_ driver: ExecutorDriver, data: Data) async {
        await callbacks.put(.message(data))
    }

    func shutdown(_ driver: ExecutorDriver) async {
        await callbacks.put(.shutdown)
        await onShutdown(driver)
    }

    func error(_ driver: ExecutorDriver, message: String) async {
        await callbacks.put(.error(message))
    }

    func disconnected(_ driver: ExecutorDriver) async {
        await callbacks.put(.disconnected)
    }
}

extension RecordingExecutor.Callback {
    var isRegistered: Bool {
        if case .registered = self { return true }
        return false
    }

    var isReregistered: Bool {
        if case .reregistered = self { return true }
        return false
    }

    var launchedTask: Agora_V1_TaskInfo? {
        if case .launch(let task) = self { return task }
        return nil
    }

    var isShutdown: Bool {
        if case .shutdown = self { return true }
        return false
    }

    var isDisconnected: Bool {
        if case .disconnected = self { return true }
        return false
    }
}
