import AgoraProto
import Foundation
import Messaging
import Resources
import Testing

@testable import Agent

/// Drives an `AgentCore` through scenarios: it registers, receives tasks, its
/// executors subscribe and send updates, the master acknowledges them.
struct AgentScenario {
    static let agentID = "m-S1"
    static let frameworkID = "m-0001"

    var core: AgentCore
    var now: Duration = .zero

    init(_ configure: (inout AgentConfiguration) -> Void = { _ in }) {
        var info = Agora_V1_AgentInfo()
        info.hostname = "host1"
        info.resources = Self.bag("cpus:4;mem:4096;ports:[31000-32000]").proto
        var configuration = AgentConfiguration(agentInfo: info, httpAddress: "http://host1:5051", bootID: "boot",
                                               version: "t", startedAtUnixSeconds: 1_000)
        configure(&configuration)
        core = AgentCore(configuration: configuration)
    }

    static func bag(_ text: String) -> Resources {
        // Test literals are known to parse.
        try! Resources(parsing: text)
    }

    // MARK: Inputs

    mutating func tick() -> [AgentDirective] { core.tick(now: now) }

    mutating func fromMaster(_ fill: (inout Agora_V1_Envelope) -> Void) -> [AgentDirective] {
        var envelope = Agora_V1_Envelope()
        fill(&envelope)
        return core.handleMaster(envelope, now: now)
    }

    mutating func fromExecutor(_ peer: PeerID, executor: String, framework: String = frameworkID,
                               _ fill: (inout Agora_V1_Executor_Call) -> Void) -> [AgentDirective] {
        var call = Agora_V1_Executor_Call()
        call.frameworkID.value = framework
        call.executorID.value = executor
        fill(&call)
        var envelope = Agora_V1_Envelope()
        envelope.executorCall = call
        return core.handleExecutor(envelope, from: peer, now: now)
    }

    /// Answers the pending RegisterAgent (sent by `tick`) with AgentRegistered.
    mutating func registered(token: String, id: String = agentID, pingInterval: Double = 0) -> [AgentDirective] {
        fromMaster { envelope in
            var reply = Agora_V1_AgentRegistered()
            reply.agentID.value = id
            reply.registrationToken = token
            reply.pingIntervalSeconds = pingInterval
            envelope.agentRegistered = reply
        }
    }

    /// Ticks, answers the RegisterAgent and returns the directives of the answer.
    @discardableResult
    mutating func register(pingInterval: Double = 0, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> [AgentDirective]
    {
        let sent = Self.toMaster(tick()).filter(\.isRegisterAgent)
        let request = try #require(sent.first, "no RegisterAgent", sourceLocation: sourceLocation)
        let directives = registered(token: request.registerAgent.registrationToken, pingInterval: pingInterval)
        try #require(core.registration == .registered, sourceLocation: sourceLocation)
        return directives
    }

    static func task(_ id: String, resources: String = "cpus:1;mem:128", command: String = "sleep 100")
        -> Agora_V1_TaskInfo
    {
        var task = Agora_V1_TaskInfo()
        task.name = id
        task.taskID.value = id
        task.agentID.value = agentID
        task.resources = bag(resources).proto
        task.command.value = command
        return task
    }

    mutating func runTask(_ task: Agora_V1_TaskInfo, framework: String = frameworkID) -> [AgentDirective] {
        fromMaster { envelope in
            var run = Agora_V1_RunTask()
            run.agentID.value = Self.agentID
            run.frameworkInfo.id.value = framework
            run.frameworkInfo.name = "framework"
            run.task = task
            envelope.runTask = run
        }
    }

    mutating func subscribe(_ peer: PeerID, executor: String) -> [AgentDirective] {
        fromExecutor(peer, executor: executor) { call in
            call.type = .subscribe
        }
    }

    /// Registers, runs a command task and lets its executor (the framework's shared
    /// command executor, peer `exec-<executor ID>`) subscribe unless it runs already.
    mutating func runningTask(_ id: String, resources: String = "cpus:1;mem:128",
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> PeerID {
        if core.registration != .registered { try register(sourceLocation: sourceLocation) }
        _ = runTask(Self.task(id, resources: resources))
        let executorID = try #require(core.tasks[AgentTaskKey(frameworkID: Self.frameworkID, taskID: id)]?.executorID,
                                      sourceLocation: sourceLocation)
        let peer = PeerID("exec-\(executorID)")
        if core.executors[ExecutorKey(frameworkID: Self.frameworkID, executorID: executorID)]?.phase != .running {
            _ = subscribe(peer, executor: executorID)
        }
        try #require(core.tasks[AgentTaskKey(frameworkID: Self.frameworkID, taskID: id)]?.launched == true,
                     sourceLocation: sourceLocation)
        return peer
    }

    /// The framework's shared command executor, if one runs or starts.
    var sharedExecutor: ExecutorKey? {
        core.executors.values.filter { $0.isShared && $0.key.frameworkID == Self.frameworkID && $0.phase != .terminating }
            .map(\.key).sorted().first
    }

    static func uuid(_ byte: UInt8) -> Data { Data(repeating: byte, count: 16) }

    mutating func update(_ peer: PeerID, task: String, executor: String? = nil, state: Agora_V1_TaskState,
                         uuid: Data?) -> [AgentDirective] {
        let executorID = executor ?? core.tasks[AgentTaskKey(frameworkID: Self.frameworkID, taskID: task)]?.executorID ?? task
        return fromExecutor(peer, executor: executorID) { call in
            call.type = .update
            call.update.status.taskID.value = task
            call.update.status.state = state
            if let uuid { call.update.status.uuid = uuid }
        }
    }

    mutating func acknowledge(task: String, uuid: Data, framework: String = frameworkID) -> [AgentDirective] {
        fromMaster { envelope in
            var ack = Agora_V1_StatusUpdateAcknowledgement()
            ack.agentID.value = Self.agentID
            ack.frameworkID.value = framework
            ack.taskID.value = task
            ack.uuid = uuid
            envelope.statusUpdateAcknowledgement = ack
        }
    }

    mutating func kill(task: String, framework: String = frameworkID) -> [AgentDirective] {
        fromMaster { envelope in
            var kill = Agora_V1_KillTask()
            kill.agentID.value = Self.agentID
            kill.frameworkID.value = framework
            kill.taskID.value = task
            envelope.killTask = kill
        }
    }

    // MARK: Reading directives

    static func toMaster(_ directives: [AgentDirective]) -> [Agora_V1_Envelope] {
        directives.compactMap { directive in
            guard case .sendToMaster(let envelope) = directive else { return nil }
            return envelope
        }
    }

    static func statusUpdates(_ directives: [AgentDirective]) -> [Agora_V1_StatusUpdate] {
        toMaster(directives).compactMap { envelope in
            guard case .statusUpdate(let update) = envelope.payload else { return nil }
            return update
        }
    }

    static func checkpoints(_ directives: [AgentDirective]) -> [Agora_V1_StatusUpdate] {
        directives.compactMap { directive in
            guard case .checkpointUpdate(let update) = directive else { return nil }
            return update
        }
    }

    /// Events for `peer`, launches of tasks with containers of their own included.
    static func toExecutor(_ directives: [AgentDirective], _ peer: PeerID) -> [Agora_V1_Executor_Event] {
        directives.compactMap { directive in
            switch directive {
            case .sendToExecutor(let envelope, let target) where target == peer:
                guard case .executorEvent(let event) = envelope.payload else { return nil }
                return event
            case .launchTask(let launch) where launch.peer == peer:
                return launch.event
            default:
                return nil
            }
        }
    }

    static func taskLaunches(_ directives: [AgentDirective]) -> [TaskContainerLaunch] {
        directives.compactMap { directive in
            guard case .launchTask(let launch) = directive else { return nil }
            return launch
        }
    }

    static func launches(_ directives: [AgentDirective]) -> [ExecutorLaunch] {
        directives.compactMap { directive in
            guard case .launchExecutor(let launch) = directive else { return nil }
            return launch
        }
    }

    static func destroyed(_ directives: [AgentDirective]) -> [ExecutorKey] {
        directives.compactMap { directive in
            guard case .destroyContainer(let key, _, _) = directive else { return nil }
            return key
        }
    }

    static func destroyedContainers(_ directives: [AgentDirective]) -> [String] {
        directives.compactMap { directive in
            guard case .destroyContainer(_, let containerID, _) = directive else { return nil }
            return containerID
        }
    }
}

/// Which payload an envelope carries (oneof members have no `has…` accessors).
extension Agora_V1_Envelope {
    var isRegisterAgent: Bool { if case .registerAgent = payload { true } else { false } }
    var isReregisterAgent: Bool { if case .reregisterAgent = payload { true } else { false } }
    var isStatusUpdate: Bool { if case .statusUpdate = payload { true } else { false } }
    var isExitedExecutor: Bool { if case .exitedExecutor = payload { true } else { false } }
    var isPong: Bool { if case .pong = payload { true } else { false } }
}
