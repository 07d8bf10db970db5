import AgoraProto

/// Everything a registry holds, as read when the master starts.
public struct RegistrySnapshot: Sendable, Equatable {
    /// Agents by ID, whatever their state.
    public var agents: [AgentID: RegistryAgent]
    /// Frameworks by ID (torn-down ones are removed).
    public var frameworks: [FrameworkID: RegistryFramework]
    /// Stored role weights (empty when none were ever set).
    public var weights: RoleWeights
    /// IDs of the master runs so far, oldest first.
    public var masterRuns: [String]

    public init(agents: [AgentID: RegistryAgent] = [:], frameworks: [FrameworkID: RegistryFramework] = [:],
                weights: RoleWeights = RoleWeights(), masterRuns: [String] = []) {
        self.agents = agents
        self.frameworks = frameworks
        self.weights = weights
        self.masterRuns = masterRuns
    }

    /// The snapshot after `change`: the reference semantics every `Registry` follows.
    public mutating func apply(_ change: RegistryChange) {
        switch change {
        case .admitAgent(let id, let hostname, let info):
            agents[id] = RegistryAgent(id: id, hostname: hostname, info: info, state: .admitted)
        case .markAgentUnreachable(let id, let since):
            agents[id]?.state = .unreachable
            agents[id]?.unreachableSince = since
        case .markAgentGone(let id):
            agents[id]?.state = .gone
            agents[id]?.unreachableSince = nil
        case .upsertFramework(let id, let info):
            frameworks[id] = RegistryFramework(id: id, info: info)
        case .markFrameworkDisconnected(let id, let deadline):
            frameworks[id]?.failoverDeadline = deadline
        case .removeFramework(let id):
            frameworks[id] = nil
        case .setWeights(let newWeights):
            weights = newWeights
        case .recordMasterRun(let id, _):
            if !masterRuns.contains(id) { masterRuns.append(id) }
        }
    }
}

/// An agent as the registry remembers it.
public struct RegistryAgent: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Admitted; after a master restart it is expected to re-register.
        case admitted
        /// Not answering; it may still come back with its tasks.
        case unreachable
        /// Removed; if it comes back it is told to shut down.
        case gone
    }

    public var id: AgentID
    public var hostname: String
    public var info: Agora_V1_AgentInfo
    public var state: State
    /// Unix seconds; set while `state == .unreachable`.
    public var unreachableSince: Double?

    public init(id: AgentID, hostname: String, info: Agora_V1_AgentInfo, state: State, unreachableSince: Double? = nil) {
        self.id = id
        self.hostname = hostname
        self.info = info
        self.state = state
        self.unreachableSince = unreachableSince
    }
}

/// A framework as the registry remembers it.
public struct RegistryFramework: Sendable, Equatable {
    public var id: FrameworkID
    public var info: Agora_V1_FrameworkInfo
    /// Unix seconds by which a disconnected framework must re-subscribe; `nil` while
    /// it is connected.
    public var failoverDeadline: Double?

    public init(id: FrameworkID, info: Agora_V1_FrameworkInfo, failoverDeadline: Double? = nil) {
        self.id = id
        self.info = info
        self.failoverDeadline = failoverDeadline
    }
}
