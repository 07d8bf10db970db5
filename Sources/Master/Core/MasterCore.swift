import AgoraProto
import Foundation
import Messaging
import Resources

/// The master's bookkeeping and protocol logic, with no I/O.
///
/// Each input is a method taking the current time (`now`, time since the master
/// started); each returns the directives the shell must carry out. The shell calls
/// `tick(now:)` often (every few tens of milliseconds); the core decides when pings,
/// heartbeats, offer timeouts, failover deadlines and allocation cycles are due.
public struct MasterCore: Sendable {
    public internal(set) var configuration: MasterConfiguration
    public internal(set) var allocator: Allocator
    public internal(set) var agents: [AgentID: AgentRecord] = [:]
    public internal(set) var frameworks: [FrameworkID: FrameworkRecord] = [:]
    public internal(set) var offers: [OfferID: OfferRecord] = [:]
    public internal(set) var tasks: [TaskKey: TaskRecord] = [:]
    /// The most recent terminal tasks, oldest first, bounded by `completedTasksKept`.
    public internal(set) var completedTasks: [TaskRecord] = []
    public internal(set) var counters = MasterCounters()
    public internal(set) var lastAllocationDuration: Duration = .zero

    /// Agents removed for good; if one re-registers it is told to shut down.
    public internal(set) var goneAgents: Set<AgentID> = []
    /// Agents known from the registry that have not re-registered since the restart.
    public internal(set) var recoveringAgents: Set<AgentID> = []
    /// When agents still in `recoveringAgents` are marked unreachable.
    public internal(set) var recoveryDeadline: Duration?

    /// Resources of the executors charged on agents (custom and task-group executors; a
    /// shared command executor is the agent's own and not charged). Each agent's record
    /// also lists its charged executors (`AgentRecord.chargedExecutors`).
    var executors: [ExecutorKey: Resources] = [:]
    /// Frameworks torn down by this master run (bounded, oldest dropped first): their
    /// tasks reported by a re-registering agent are shut down, not adopted.
    var removedFrameworks: Set<FrameworkID> = []
    var removedFrameworkOrder: [FrameworkID] = []
    var frameworksByPeer: [PeerID: Set<FrameworkID>] = [:]
    var nextAgentNumber = 0
    /// Registration tokens already admitted, so a retried RegisterAgent is answered
    /// with the same agent instead of admitting a second one.
    var agentsByRegistrationToken: [String: AgentID] = [:]
    var nextFrameworkNumber = 0
    var nextOfferNumber = 0
    var nextAllocationAt: Duration = .zero
    /// The earliest `nextPingAt` of a reachable agent (nil: none), so that ticks with
    /// no ping due skip the scan of every agent.
    var earliestPingAt: Duration?
    var allocationRequested = false
    var directives: [MasterDirective] = []

    public init(configuration: MasterConfiguration) {
        self.configuration = configuration
        self.allocator = Allocator(configuration: configuration.allocator)
    }

    // MARK: - Inputs

    /// A message arrived from `peer`.
    public mutating func handle(_ envelope: Agora_V1_Envelope, from peer: PeerID, now: Duration) -> [MasterDirective] {
        switch envelope.payload {
        case .schedulerCall(let call): handleCall(call, from: peer, now: now)
        case .registerAgent(let message): registerAgent(message, from: peer, now: now)
        case .reregisterAgent(let message): reregisterAgent(message, from: peer, now: now)
        case .pong(let message):
            if verifyAgent(message.agentID.value, from: peer, envelope) { pong(message, now: now) }
        case .statusUpdate(let message):
            if verifyAgent(message.agentID.value, from: peer, envelope) { statusUpdate(message, now: now) }
        case .executorToFrameworkMessage(let message):
            if verifyAgent(message.agentID.value, from: peer, envelope) { executorMessage(message) }
        case .exitedExecutor(let message):
            if verifyAgent(message.agentID.value, from: peer, envelope) { exitedExecutor(message, now: now) }
        case .unregisterAgent(let message):
            if verifyAgent(message.agentID.value, from: peer, envelope) { unregisterAgent(message, now: now) }
        default:
            counters.invalidCalls += 1
            refuse(peer, "the master does not accept \(Self.payloadName(envelope)) messages")
        }
        return takeDirectives()
    }

    /// The connection to `peer` closed. Frameworks on it are disconnected; their
    /// tasks keep running until their failover timeout.
    public mutating func peerDisconnected(_ peer: PeerID, now: Duration) -> [MasterDirective] {
        for frameworkID in frameworksByPeer.removeValue(forKey: peer) ?? [] {
            disconnectFramework(frameworkID, now: now)
        }
        return takeDirectives()
    }

    /// Time passed: pings, heartbeats, offer timeouts, failover deadlines. Allocation
    /// is separate (`allocateIfDue`) so the shell can time it.
    public mutating func tick(now: Duration) -> [MasterDirective] {
        pingAgents(now: now)
        heartbeatFrameworks(now: now)
        expireOffers(now: now)
        expireDisconnectedFrameworks(now: now)
        expireRecoveringAgents(now: now)
        return takeDirectives()
    }

    /// Runs an allocation cycle if the interval has passed or an event asked for one.
    public mutating func allocateIfDue(now: Duration) -> [MasterDirective] {
        if now >= nextAllocationAt || allocationRequested {
            allocate(now: now)
        }
        return takeDirectives()
    }

    /// The ZeroMQ endpoint to advertise in `MasterInfo`, once the shell has bound it.
    public mutating func advertise(at address: String) {
        configuration.advertisedAddress = address
    }

    /// The shell's measurement of the last allocation cycle, for `/metrics`.
    public mutating func recordAllocationDuration(_ duration: Duration) {
        lastAllocationDuration = duration
    }

    /// Runs an allocation cycle now and sends the resulting offers.
    public mutating func allocate(now: Duration) {
        allocationRequested = false
        nextAllocationAt = now + configuration.allocationInterval
        counters.allocationRuns += 1
        var offersByFramework: [FrameworkID: [Agora_V1_Offer]] = [:]
        for allocation in allocator.allocate(now: now) {
            guard let agent = agents[allocation.agentID], frameworks[allocation.frameworkID] != nil else {
                // The allocator and the core disagree; give the resources back.
                allocator.recover(allocation.resources, agent: allocation.agentID, framework: allocation.frameworkID,
                                  refuseFor: nil, now: now)
                continue
            }
            nextOfferNumber += 1
            let offer = OfferRecord(id: "\(configuration.runID)-O\(nextOfferNumber)", frameworkID: allocation.frameworkID,
                                    agentID: agent.id, role: allocation.role, resources: allocation.resources,
                                    createdAt: now)
            offers[offer.id] = offer
            // In place: copying the framework's record out and back would copy its whole
            // offer set for every offer (quadratic at 10k agents).
            frameworks[allocation.frameworkID]?.offers.insert(offer.id)
            offersByFramework[allocation.frameworkID, default: []].append(protoOffer(offer, agent: agent))
            counters.offersSent += 1
        }
        for (frameworkID, batch) in offersByFramework.sorted(by: { $0.key < $1.key }) {
            var event = Agora_V1_Scheduler_Event()
            event.type = .offers
            event.offers.offers = batch
            sendEvent(event, to: frameworkID)
        }
    }

    /// Asks for an allocation at the next tick (after events that free resources).
    mutating func requestAllocation() {
        allocationRequested = true
    }

    // MARK: - Views

    /// Resources currently offered on `agent`.
    public func offered(on agent: AgentID) -> Resources {
        var total = Resources()
        for offer in offers.values where offer.agentID == agent { total += offer.resources }
        return total
    }

    /// Resources used by tasks and executors on `agent`.
    public func used(on agent: AgentID) -> Resources {
        var total = Resources()
        for key in agents[agent]?.tasks ?? [] {
            if let task = tasks[key], task.holdsResources { total += task.resources }
        }
        for (key, resources) in executors where key.agentID == agent { total += resources }
        return total
    }

    // MARK: - Helpers shared by the extensions

    /// Whether `peer` may speak for `agentID`: the agent must be registered from that
    /// very connection. Anything else (an unknown agent, or one connection reporting
    /// for another agent) is refused, counted and logged; the agent re-registers.
    mutating func verifyAgent(_ agentID: AgentID, from peer: PeerID, _ envelope: Agora_V1_Envelope) -> Bool {
        guard let agent = agents[agentID] else {
            counters.invalidCalls += 1
            refuse(peer, "unknown agent \(agentID); register again", agentID: agentID)
            return false
        }
        guard !agent.isRecovered else {
            // Known from the registry; the master restarted and waits for it to re-register.
            refuse(peer, "the master restarted; agent \(agentID) must re-register", agentID: agentID)
            return false
        }
        guard agent.peer == peer else {
            counters.invalidCalls += 1
            counters.misaddressedMessages += 1
            log("refused \(Self.payloadName(envelope)) for agent \(agentID) from a connection that is not the agent's")
            refuse(peer, "agent \(agentID) is registered from another connection; re-register to move it", agentID: agentID)
            return false
        }
        return true
    }

    mutating func takeDirectives() -> [MasterDirective] {
        defer { directives = [] }
        return directives
    }

    mutating func send(_ envelope: Agora_V1_Envelope, to peer: PeerID) {
        directives.append(.send(envelope, to: peer))
    }

    mutating func log(_ message: String) {
        directives.append(.log(message))
    }

    mutating func persist(_ change: RegistryChange) {
        directives.append(.persist(change))
    }

    mutating func sendEvent(_ event: Agora_V1_Scheduler_Event, to frameworkID: FrameworkID) {
        // Reads only the two fields: copying the record out costs a retain per field.
        guard let index = frameworks.index(forKey: frameworkID), frameworks.values[index].isConnected,
              let peer = frameworks.values[index].peer else { return }
        var envelope = Agora_V1_Envelope()
        envelope.schedulerEvent = event
        send(envelope, to: peer)
    }

    mutating func sendToAgent(_ agentID: AgentID, _ fill: (inout Agora_V1_Envelope) -> Void) {
        guard let index = agents.index(forKey: agentID), agents.values[index].isReachable else { return }
        var envelope = Agora_V1_Envelope()
        fill(&envelope)
        send(envelope, to: agents.values[index].peer)
    }

    mutating func refuse(_ peer: PeerID, _ reason: String, agentID: AgentID? = nil, frameworkID: FrameworkID? = nil) {
        var refused = Agora_V1_Refused()
        refused.reason = reason
        if let agentID { refused.agentID.value = agentID }
        if let frameworkID { refused.frameworkID.value = frameworkID }
        var envelope = Agora_V1_Envelope()
        envelope.refused = refused
        send(envelope, to: peer)
    }

    func unixTime(_ now: Duration) -> Double {
        configuration.startedAtUnixSeconds + now.seconds
    }

    /// The core's time (since this master started) of a Unix time; negative when earlier.
    func coreTime(unix seconds: Double) -> Duration {
        .seconds(fractional: seconds - configuration.startedAtUnixSeconds)
    }

    var masterInfo: Agora_V1_MasterInfo {
        var info = Agora_V1_MasterInfo()
        info.id = configuration.runID
        info.hostname = configuration.hostname
        info.pid = configuration.advertisedAddress
        info.version = configuration.version
        return info
    }

    func protoOffer(_ offer: OfferRecord, agent: AgentRecord) -> Agora_V1_Offer {
        var proto = Agora_V1_Offer()
        proto.id.value = offer.id
        proto.frameworkID.value = offer.frameworkID
        proto.agentID.value = agent.id
        proto.hostname = agent.hostname
        proto.resources = offer.resources.proto.map { resource in
            var resource = resource
            resource.allocationInfo.role = offer.role
            return resource
        }
        proto.attributes = agent.attributes.proto
        proto.allocationInfo.role = offer.role
        if !agent.httpAddress.isEmpty { proto.url.path = agent.httpAddress }
        return proto
    }

    static func payloadName(_ envelope: Agora_V1_Envelope) -> String {
        guard let payload = envelope.payload else { return "empty" }
        return String(describing: payload).prefix { $0 != "(" }.description
    }
}
