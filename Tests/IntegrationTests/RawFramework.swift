import AgoraProto
import Foundation
import Messaging
import Resources
import Testing

/// A framework that speaks the wire protocol directly, for tests that must send
/// exactly the calls they want (including invalid ones).
actor RawFramework {
    let endpoint: DealerEndpoint
    private var buffered: [Agora_V1_Scheduler_Event] = []
    private var waiter: CheckedContinuation<Void, Never>?
    private var reader: Task<Void, Never>?
    private(set) var frameworkID = ""
    /// Whether updates with a UUID are acknowledged as they arrive.
    private let autoAcknowledge: Bool

    init(master: String, autoAcknowledge: Bool = true) throws {
        endpoint = try DealerEndpoint(connectingTo: master)
        self.autoAcknowledge = autoAcknowledge
    }

    /// Subscribes and returns the framework ID.
    func subscribe(name: String = "raw", partitionAware: Bool = true, resuming id: String? = nil,
                   failoverTimeout: Double = 0) async throws -> String {
        if reader == nil {
            let endpoint = endpoint
            reader = Task {
                for await envelope in endpoint.messages { self.receive(envelope) }
            }
        }
        var call = Agora_V1_Scheduler_Call()
        call.type = .subscribe
        call.subscribe.frameworkInfo.name = name
        call.subscribe.frameworkInfo.user = "root"
        call.subscribe.frameworkInfo.failoverTimeout = failoverTimeout
        if let id {
            call.subscribe.frameworkInfo.id.value = id
            call.frameworkID.value = id
        }
        if partitionAware {
            var capability = Agora_V1_FrameworkInfo.Capability()
            capability.type = .partitionAware
            call.subscribe.frameworkInfo.capabilities = [capability]
        }
        try await send(call)
        let subscribed = try await next { $0.type == .subscribed }
        frameworkID = subscribed.subscribed.frameworkID.value
        return frameworkID
    }

    func send(_ call: Agora_V1_Scheduler_Call) async throws {
        var call = call
        if call.type != .subscribe { call.frameworkID.value = frameworkID }
        var envelope = Agora_V1_Envelope()
        envelope.schedulerCall = call
        try await endpoint.send(envelope)
    }

    /// Queues an event; status updates that carry a UUID are acknowledged at once,
    /// as a well-behaved framework does.
    private func receive(_ envelope: Agora_V1_Envelope) {
        guard case .schedulerEvent(let event) = envelope.payload else { return }
        buffered.append(event)
        wake()
        if autoAcknowledge, event.type == .update, event.update.status.hasUuid {
            Task { try? await self.acknowledge(event.update.status) }
        }
    }

    func acknowledge(_ status: Agora_V1_TaskStatus) async throws {
        var ack = Agora_V1_Scheduler_Call()
        ack.type = .acknowledge
        ack.acknowledge.agentID = status.agentID
        ack.acknowledge.taskID = status.taskID
        ack.acknowledge.uuid = status.uuid
        try await send(ack)
    }

    private func wake() {
        waiter?.resume()
        waiter = nil
    }

    /// The next event matching `predicate`; events that do not match stay queued. A
    /// timeout names the caller's line, so a failure says which wait it was.
    func next(timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
              _ predicate: @Sendable (Agora_V1_Scheduler_Event) -> Bool) async throws -> Agora_V1_Scheduler_Event {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let index = buffered.firstIndex(where: predicate) { return buffered.remove(at: index) }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw DaemonError("no matching event within \(timeout) for the wait at \(sourceLocation.fileName):"
                                  + "\(sourceLocation.line); queued: \(buffered.map { "\($0.type)" })")
            }
            let timer = Task {
                try? await Task.sleep(for: remaining)
                self.wake()
            }
            await withCheckedContinuation { waiter = $0 }
            timer.cancel()
        }
    }

    /// The status update for `taskID`.
    func update(for taskID: String, timeout: Duration = .seconds(20),
                sourceLocation: SourceLocation = #_sourceLocation) async throws -> Agora_V1_TaskStatus {
        try await next(timeout: timeout, sourceLocation: sourceLocation) {
            $0.type == .update && $0.update.status.taskID.value == taskID
        }.update.status
    }

    func accept(offerIDs: [String], tasks: [Agora_V1_TaskInfo], refuseSeconds: Double = 0) async throws {
        var call = Agora_V1_Scheduler_Call()
        call.type = .accept
        call.accept.offerIds = offerIDs.map { var id = Agora_V1_OfferID(); id.value = $0; return id }
        var operation = Agora_V1_Offer.Operation()
        operation.type = .launch
        operation.launch.taskInfos = tasks
        call.accept.operations = [operation]
        call.accept.filters.refuseSeconds = refuseSeconds
        try await send(call)
    }

    func acceptGroup(offerID: String, executor: Agora_V1_ExecutorInfo, tasks: [Agora_V1_TaskInfo]) async throws {
        var call = Agora_V1_Scheduler_Call()
        call.type = .accept
        var id = Agora_V1_OfferID()
        id.value = offerID
        call.accept.offerIds = [id]
        var operation = Agora_V1_Offer.Operation()
        operation.type = .launchGroup
        operation.launchGroup.executor = executor
        operation.launchGroup.taskGroup.tasks = tasks
        call.accept.operations = [operation]
        call.accept.filters.refuseSeconds = 0
        try await send(call)
    }

    func shutdown() async {
        reader?.cancel()
        await endpoint.shutdown()
    }

    static func task(_ id: String, agentID: String, command: String, resources: String = "cpus:0.1;mem:32") -> Agora_V1_TaskInfo {
        var task = Agora_V1_TaskInfo()
        task.name = id
        task.taskID.value = id
        task.agentID.value = agentID
        task.command.value = command
        task.command.shell = true
        task.resources = (try? Resources(parsing: resources))?.proto ?? []
        return task
    }
}

