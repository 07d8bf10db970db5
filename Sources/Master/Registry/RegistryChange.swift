import AgoraProto

/// One change to the registry, emitted by `MasterCore` as `.persist(…)` before the
/// messages that depend on it. Times are Unix seconds, so they keep their meaning
/// across master restarts.
public enum RegistryChange: Sendable, Equatable {
    /// Admits an agent (or re-admits an unreachable one) with its latest info.
    case admitAgent(AgentID, hostname: String, info: Agora_V1_AgentInfo)
    /// The agent stopped answering (or did not re-register after a master failover).
    case markAgentUnreachable(AgentID, since: Double)
    /// The agent was removed for good; if it comes back it is told to shut down.
    case markAgentGone(AgentID)
    /// A framework subscribed (or re-subscribed, or changed its info); it is connected.
    case upsertFramework(FrameworkID, info: Agora_V1_FrameworkInfo)
    /// The framework disconnected; it is torn down unless it returns by the deadline.
    case markFrameworkDisconnected(FrameworkID, failoverDeadline: Double)
    /// The framework was torn down.
    case removeFramework(FrameworkID)
    /// Replaces all role weights.
    case setWeights(RoleWeights)
    /// A master run started; its ID prefixes every ID it hands out and is never reused.
    case recordMasterRun(String, startedAt: Double)
}
