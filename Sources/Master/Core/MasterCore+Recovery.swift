import AgoraProto
import Messaging
import Resources

extension MasterCore {
    // MARK: - Recovery after a master restart

    /// Rebuilds the master's state from its registry; call once, right after `init`,
    /// before any other input.
    ///
    /// - Admitted agents become *recovering*: not offered, not pinged, tasks unknown
    ///   until they re-register (with their tasks). Those still missing after
    ///   `agentReregisterTimeout` are marked unreachable.
    /// - Unreachable agents stay unreachable; gone agents are refused if they return.
    /// - Frameworks are disconnected. One that was disconnected keeps its stored
    ///   failover deadline; one that was connected gets at least
    ///   `agentReregisterTimeout` to re-subscribe (it could not while the master was down).
    /// - Weights: `givenWeights` replace the stored ones (and are stored); otherwise
    ///   the stored ones apply.
    /// - This run's ID is recorded, so later runs never hand out the same IDs.
    public mutating func recover(from snapshot: RegistrySnapshot, now: Duration) -> [MasterDirective] {
        persist(.recordMasterRun(configuration.runID, startedAt: unixTime(now)))
        if let given = configuration.givenWeights {
            if given != snapshot.weights { persist(.setWeights(given)) }
            allocator.updateWeights(given)
        } else if !snapshot.weights.weights.isEmpty {
            allocator.updateWeights(snapshot.weights)
        }

        var unreachable = 0
        for stored in snapshot.agents.values.sorted(by: { $0.id < $1.id }) {
            guard stored.state != .gone else {
                goneAgents.insert(stored.id)
                continue
            }
            var record = AgentRecord(
                id: stored.id, hostname: stored.hostname, info: stored.info,
                total: (try? Resources(proto: stored.info.resources)) ?? Resources(),
                attributes: (try? Attributes(proto: stored.info.attributes)) ?? Attributes(),
                httpAddress: "", bootID: "", version: "", registeredAt: now, peer: PeerID(bytes: []), nextPingAt: now)
            record.isReachable = false
            record.isRecovered = true
            if stored.state == .unreachable {
                record.unreachableSince = coreTime(unix: stored.unreachableSince ?? unixTime(now))
                unreachable += 1
            } else {
                recoveringAgents.insert(stored.id)
            }
            agents[stored.id] = record
        }
        if !recoveringAgents.isEmpty { recoveryDeadline = now + configuration.agentReregisterTimeout }

        for stored in snapshot.frameworks.values.sorted(by: { $0.id < $1.id }) {
            let roles = Self.roles(of: stored.info)
            var record = FrameworkRecord(id: stored.id, info: stored.info, roles: roles, suppressedRoles: [],
                                         isConnected: false, registeredAt: now, disconnectedAt: now, peer: nil,
                                         nextHeartbeatAt: now + configuration.frameworkHeartbeatInterval)
            if let deadline = stored.failoverDeadline {
                record.failoverDeadline = coreTime(unix: deadline)
            } else {
                let deadline = now + max(record.failoverTimeout, configuration.agentReregisterTimeout)
                record.failoverDeadline = deadline
                // Stored, so that another restart does not extend it again.
                persist(.markFrameworkDisconnected(stored.id, failoverDeadline: unixTime(deadline)))
            }
            frameworks[stored.id] = record
            allocator.addFramework(stored.id, roles: roles, suppressedRoles: [], allocated: [:])
            allocator.deactivateFramework(stored.id)
        }

        let weights = allocator.configuration.weights.description
        let weightsText = (weights.isEmpty ? "none" : weights) + (configuration.givenWeights == nil ? "" : " (given)")
        if snapshot.masterRuns.isEmpty {
            log("master \(configuration.runID) starts with an empty registry; weights \(weightsText)")
        } else {
            log("master \(configuration.runID) recovered from its registry: \(recoveringAgents.count) agent(s) to "
                + "re-register within \(configuration.agentReregisterTimeout), \(unreachable) unreachable, "
                + "\(goneAgents.count) gone; \(snapshot.frameworks.count) framework(s) awaiting re-subscription; "
                + "weights \(weightsText)")
        }
        return takeDirectives()
    }

    /// A recovering agent re-registered: it is no longer waited for.
    mutating func recoveringAgentReturned(_ id: AgentID) {
        guard recoveringAgents.remove(id) != nil, recoveringAgents.isEmpty else { return }
        recoveryDeadline = nil
        log("every agent known from the registry has re-registered")
    }

    /// Agents that did not re-register within `agentReregisterTimeout` after the
    /// master restarted are marked unreachable, and partition-aware frameworks are
    /// told (FAILURE with the agent's ID: agent lost).
    mutating func expireRecoveringAgents(now: Duration) {
        guard let deadline = recoveryDeadline, now >= deadline else { return }
        recoveryDeadline = nil
        let late = recoveringAgents.sorted()
        recoveringAgents = []
        guard !late.isEmpty else { return }
        for id in late {
            agents[id]?.unreachableSince = now
            persist(.markAgentUnreachable(id, since: unixTime(now)))
        }
        counters.agentsMarkedUnreachable += late.count
        let named = late.prefix(10).joined(separator: ", ") + (late.count > 10 ? ", …" : "")
        log("\(late.count) agent(s) did not re-register within \(configuration.agentReregisterTimeout) after the "
            + "master restarted and are unreachable: \(named)")
        for framework in frameworks.values.sorted(by: { $0.id < $1.id })
        where framework.isConnected && framework.isPartitionAware {
            for id in late { sendAgentLost(id, to: framework.id) }
        }
    }

    /// Tells a partition-aware framework that re-subscribes about the agents known
    /// from the registry that are unreachable (their tasks are unknown to this master).
    mutating func reportUnreachableRecoveredAgents(to frameworkID: FrameworkID) {
        guard frameworks[frameworkID]?.isPartitionAware == true else { return }
        let unreachable = agents.values.filter { $0.isRecovered && $0.unreachableSince != nil }.map(\.id).sorted()
        for id in unreachable { sendAgentLost(id, to: frameworkID) }
    }

    private mutating func sendAgentLost(_ agentID: AgentID, to frameworkID: FrameworkID) {
        var event = Agora_V1_Scheduler_Event()
        event.type = .failure
        event.failure.agentID.value = agentID
        sendEvent(event, to: frameworkID)
    }

    /// Remembers a torn-down framework so that its tasks, if an agent still reports
    /// them, are shut down rather than adopted.
    mutating func rememberRemovedFramework(_ id: FrameworkID) {
        guard removedFrameworks.insert(id).inserted else { return }
        removedFrameworkOrder.append(id)
        let excess = removedFrameworkOrder.count - Self.removedFrameworksKept
        if excess > 0 {
            for old in removedFrameworkOrder.prefix(excess) { removedFrameworks.remove(old) }
            removedFrameworkOrder.removeFirst(excess)
        }
    }

    static let removedFrameworksKept = 10_000
}
