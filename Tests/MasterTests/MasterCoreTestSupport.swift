import AgoraProto
import Foundation
import Messaging
import Resources
import Testing

@testable import Master

/// Drives a `MasterCore` through scenarios: agents register, frameworks subscribe,
/// offers are accepted, status updates flow. Time is explicit (`now`).
struct MasterScenario {
    var core: MasterCore
    var now: Duration = .zero
    /// Agent ID → the peer it registered from.
    var agentPeers: [AgentID: PeerID] = [:]
    /// Framework ID → the peer it subscribed from.
    var frameworkPeers: [FrameworkID: PeerID] = [:]

    init(_ configure: (inout MasterConfiguration) -> Void = { _ in }) {
        var configuration = MasterConfiguration(runID: "m", hostname: "h", advertisedAddress: "tcp://h:5050",
                                                version: "t", startedAtUnixSeconds: 0)
        configure(&configuration)
        core = MasterCore(configuration: configuration)
    }

    // MARK: Resources

    static func bag(_ text: String) -> Resources {
        // Test literals are known to parse.
        try! Resources(parsing: text)
    }

    static func resources(of offer: Agora_V1_Offer) -> Resources {
        (try? Resources(proto: offer.resources)) ?? Resources()
    }

    // MARK: Inputs

    mutating func handle(_ envelope: Agora_V1_Envelope, from peer: PeerID) -> [MasterDirective] {
        core.handle(envelope, from: peer, now: now)
    }

    mutating func call(_ call: Agora_V1_Scheduler_Call, from peer: PeerID) -> [MasterDirective] {
        var envelope = Agora_V1_Envelope()
        envelope.schedulerCall = call
        return handle(envelope, from: peer)
    }

    /// A call of `type` from a subscribed framework (its peer, its ID), filled by `fill`.
    mutating func call(_ type: Agora_V1_Scheduler_Call.TypeEnum, framework: FrameworkID,
                       _ fill: (inout Agora_V1_Scheduler_Call) -> Void = { _ in }) -> [MasterDirective] {
        var call = Agora_V1_Scheduler_Call()
        call.type = type
        call.frameworkID.value = framework
        fill(&call)
        return self.call(call, from: frameworkPeers[framework] ?? PeerID("unknown"))
    }

    mutating func tick() -> [MasterDirective] { core.tick(now: now) }

    mutating func allocate() -> [MasterDirective] { core.allocateIfDue(now: now) }

    // MARK: Agents

    static func agentInfo(hostname: String, resources: String, id: AgentID? = nil) -> Agora_V1_AgentInfo {
        var info = Agora_V1_AgentInfo()
        info.hostname = hostname
        info.resources = bag(resources).proto
        if let id { info.id.value = id }
        return info
    }

    /// Registers an agent and returns the directives of the registration.
    mutating func registerAgentRaw(peer: PeerID, info: Agora_V1_AgentInfo, token: String = "tok") -> [MasterDirective] {
        var message = Agora_V1_RegisterAgent()
        message.agentInfo = info
        message.version = "t"
        message.bootID = "boot"
        message.registrationToken = token
        var envelope = Agora_V1_Envelope()
        envelope.registerAgent = message
        return handle(envelope, from: peer)
    }

    /// Registers an agent and returns the ID from the AgentRegistered reply.
    mutating func registerAgent(_ peerName: String, resources: String = "cpus:2;mem:1024",
                                sourceLocation: SourceLocation = #_sourceLocation) throws -> AgentID {
        let peer = PeerID(peerName)
        let directives = registerAgentRaw(peer: peer, info: Self.agentInfo(hostname: peerName, resources: resources))
        let replies = Self.envelopes(directives, to: peer).filter(\.isAgentRegistered)
        let reply = try #require(replies.first, "no AgentRegistered for \(peerName)", sourceLocation: sourceLocation)
        let id = reply.agentRegistered.agentID.value
        agentPeers[id] = peer
        return id
    }

    mutating func reregisterAgent(_ id: AgentID, peer: PeerID, resources: String = "cpus:2;mem:1024",
                                  tasks: [Agora_V1_Task] = [], frameworks: [Agora_V1_FrameworkInfo] = [])
        -> [MasterDirective]
    {
        var message = Agora_V1_ReregisterAgent()
        message.agentInfo = Self.agentInfo(hostname: peer.description, resources: resources, id: id)
        message.version = "t"
        message.bootID = "boot"
        message.tasks = tasks
        message.frameworks = frameworks
        var envelope = Agora_V1_Envelope()
        envelope.reregisterAgent = message
        agentPeers[id] = peer
        return handle(envelope, from: peer)
    }

    /// A pong from `agentID` listing `executors` (framework ID, executor ID) as running.
    mutating func pong(_ agentID: AgentID, sequence: UInt64, executors: [(FrameworkID, String)] = []) -> [MasterDirective] {
        var pong = Agora_V1_Pong()
        pong.agentID.value = agentID
        pong.sequence = sequence
        pong.executors = executors.map { frameworkID, executorID in
            var executor = Agora_V1_ExecutorInfo()
            executor.frameworkID.value = frameworkID
            executor.executorID.value = executorID
            return executor
        }
        var envelope = Agora_V1_Envelope()
        envelope.pong = pong
        return handle(envelope, from: agentPeers[agentID]!)
    }

    // MARK: Frameworks

    static func frameworkInfo(name: String, roles: [String] = [], partitionAware: Bool = false,
                              failoverTimeout: Double? = nil, id: FrameworkID? = nil) -> Agora_V1_FrameworkInfo {
        var info = Agora_V1_FrameworkInfo()
        info.name = name
        info.user = "tester"
        info.roles = roles
        if partitionAware {
            var capability = Agora_V1_FrameworkInfo.Capability()
            capability.type = .partitionAware
            info.capabilities = [capability]
        }
        if let failoverTimeout { info.failoverTimeout = failoverTimeout }
        if let id { info.id.value = id }
        return info
    }

    mutating func subscribeRaw(peer: PeerID, info: Agora_V1_FrameworkInfo, suppressedRoles: [String] = [])
        -> [MasterDirective]
    {
        var call = Agora_V1_Scheduler_Call()
        call.type = .subscribe
        call.subscribe.frameworkInfo = info
        call.subscribe.suppressedRoles = suppressedRoles
        return self.call(call, from: peer)
    }

    /// Subscribes a framework and returns the ID from its SUBSCRIBED event.
    mutating func subscribe(_ peerName: String, roles: [String] = [], partitionAware: Bool = false,
                            failoverTimeout: Double? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> FrameworkID {
        let peer = PeerID(peerName)
        let info = Self.frameworkInfo(name: peerName, roles: roles, partitionAware: partitionAware,
                                      failoverTimeout: failoverTimeout)
        let directives = subscribeRaw(peer: peer, info: info)
        let subscribed = Self.events(directives, to: peer).filter { $0.type == .subscribed }
        let event = try #require(subscribed.first, "no SUBSCRIBED for \(peerName)", sourceLocation: sourceLocation)
        let id = event.subscribed.frameworkID.value
        frameworkPeers[id] = peer
        return id
    }

    // MARK: Tasks

    static func task(_ id: String, resources: String = "cpus:1;mem:128", command: String = "sleep 100")
        -> Agora_V1_TaskInfo
    {
        var task = Agora_V1_TaskInfo()
        task.name = id
        task.taskID.value = id
        task.resources = bag(resources).proto
        task.command.value = command
        return task
    }

    /// ACCEPT of `offerIDs` with one LAUNCH operation of `tasks`.
    mutating func accept(_ framework: FrameworkID, offers offerIDs: [OfferID], tasks: [Agora_V1_TaskInfo],
                         refuseSeconds: Double? = nil) -> [MasterDirective] {
        call(.accept, framework: framework) { call in
            call.accept.offerIds = offerIDs.map { id in
                var offerID = Agora_V1_OfferID()
                offerID.value = id
                return offerID
            }
            var operation = Agora_V1_Offer.Operation()
            operation.type = .launch
            operation.launch.taskInfos = tasks
            call.accept.operations = [operation]
            if let refuseSeconds { call.accept.filters.refuseSeconds = refuseSeconds }
        }
    }

    /// Allocates and returns the single offer sent to `framework`.
    mutating func takeOffer(for framework: FrameworkID,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> Agora_V1_Offer {
        let offers = self.offers(allocate(), to: framework)
        try #require(offers.count == 1, "expected one offer, got \(offers.count)", sourceLocation: sourceLocation)
        return offers[0]
    }

    /// Registers `agent`, takes its offer for `framework` and launches `task` on it.
    /// Returns the directives of the ACCEPT.
    mutating func launch(_ task: Agora_V1_TaskInfo, framework: FrameworkID, refuseSeconds: Double? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> [MasterDirective] {
        let offer = try takeOffer(for: framework, sourceLocation: sourceLocation)
        return accept(framework, offers: [offer.id.value], tasks: [task], refuseSeconds: refuseSeconds)
    }

    static func uuid(_ byte: UInt8) -> Data { Data(repeating: byte, count: 16) }

    mutating func statusUpdate(agent: AgentID, framework: FrameworkID, task: String, state: Agora_V1_TaskState,
                               uuid: Data?) -> [MasterDirective] {
        var update = Agora_V1_StatusUpdate()
        update.agentID.value = agent
        update.frameworkID.value = framework
        update.status.taskID.value = task
        update.status.state = state
        update.status.source = .executor
        update.status.agentID.value = agent
        if let uuid { update.status.uuid = uuid }
        update.latestState = state
        var envelope = Agora_V1_Envelope()
        envelope.statusUpdate = update
        return handle(envelope, from: agentPeers[agent]!)
    }

    static func reportedTask(_ id: String, framework: FrameworkID, agent: AgentID, state: Agora_V1_TaskState,
                             resources: String = "cpus:1;mem:128") -> Agora_V1_Task {
        var task = Agora_V1_Task()
        task.name = id
        task.taskID.value = id
        task.frameworkID.value = framework
        task.executorID.value = id
        task.agentID.value = agent
        task.state = state
        task.resources = bag(resources).proto
        return task
    }

    // MARK: Reading directives

    static func envelopes(_ directives: [MasterDirective], to peer: PeerID) -> [Agora_V1_Envelope] {
        directives.compactMap { directive in
            guard case .send(let envelope, let target) = directive, target == peer else { return nil }
            return envelope
        }
    }

    static func allEnvelopes(_ directives: [MasterDirective]) -> [(Agora_V1_Envelope, PeerID)] {
        directives.compactMap { directive in
            guard case .send(let envelope, let target) = directive else { return nil }
            return (envelope, target)
        }
    }

    static func events(_ directives: [MasterDirective], to peer: PeerID) -> [Agora_V1_Scheduler_Event] {
        envelopes(directives, to: peer).filter(\.isSchedulerEvent).map(\.schedulerEvent)
    }

    func events(_ directives: [MasterDirective], to framework: FrameworkID) -> [Agora_V1_Scheduler_Event] {
        Self.events(directives, to: frameworkPeers[framework]!)
    }

    func offers(_ directives: [MasterDirective], to framework: FrameworkID) -> [Agora_V1_Offer] {
        events(directives, to: framework).filter { $0.type == .offers }.flatMap(\.offers.offers)
    }

    func updates(_ directives: [MasterDirective], to framework: FrameworkID) -> [Agora_V1_TaskStatus] {
        events(directives, to: framework).filter { $0.type == .update }.map(\.update.status)
    }

    func rescinds(_ directives: [MasterDirective], to framework: FrameworkID) -> [OfferID] {
        events(directives, to: framework).filter { $0.type == .rescind }.map(\.rescind.offerID.value)
    }

    func toAgent(_ directives: [MasterDirective], _ agent: AgentID) -> [Agora_V1_Envelope] {
        Self.envelopes(directives, to: agentPeers[agent]!)
    }
}

/// Which payload an envelope carries (oneof members have no `has…` accessors).
extension Agora_V1_Envelope {
    var isSchedulerEvent: Bool { if case .schedulerEvent = payload { true } else { false } }
    var isAgentRegistered: Bool { if case .agentRegistered = payload { true } else { false } }
    var isAgentReregistered: Bool { if case .agentReregistered = payload { true } else { false } }
    var isRefused: Bool { if case .refused = payload { true } else { false } }
    var isRunTask: Bool { if case .runTask = payload { true } else { false } }
    var isPing: Bool { if case .ping = payload { true } else { false } }
    var isKillTask: Bool { if case .killTask = payload { true } else { false } }
    var isShutdownFramework: Bool { if case .shutdownFramework = payload { true } else { false } }
    var isStatusUpdateAcknowledgement: Bool {
        if case .statusUpdateAcknowledgement = payload { true } else { false }
    }
}
