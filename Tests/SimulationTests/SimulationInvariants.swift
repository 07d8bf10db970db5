import AgoraProto
import Foundation
import Messaging
import Resources

@testable import Agent
@testable import Master

extension Simulation {
    // MARK: - After every step

    /// Safety invariants: resource accounting on the master and on every agent.
    mutating func checkInvariants() {
        applySabotage()
        if masterDirty, let master {
            masterDirty = false
            checkAccounting(master)
        }
        for index in agents.indices where agents[index].dirty && agents[index].core != nil {
            agents[index].dirty = false
            checkAgentUsage(index)
        }
    }

    /// 1. offers + used + free == total on every agent, nothing offered or used twice
    ///    (ports included); 2. used ⊆ total.
    private mutating func checkAccounting(_ master: MasterCore) {
        // One agent process (one connection) is one agent: the same resources must not
        // be admitted twice under two IDs.
        var idsByPeer: [PeerID: [AgentID]] = [:]
        for (id, agent) in master.agents where agent.isReachable && !agent.isRecovered {
            idsByPeer[agent.peer, default: []].append(id)
        }
        for (peer, ids) in idsByPeer.sorted(by: { $0.key.description < $1.key.description }) where ids.count > 1 {
            return fail("agent connection \(peer) is registered as \(ids.count) agents \(ids.sorted()): its resources are offered \(ids.count) times")
        }

        var tallies: [AgentID: Tally] = [:]
        for (id, offer) in master.offers { tallies[offer.agentID, default: Tally()].add("offer \(id)", offer.resources) }
        for (key, task) in master.tasks where task.holdsResources {
            tallies[task.agentID, default: Tally()].add("task \(key.taskID)", task.resources)
        }
        for (key, resources) in master.executors {
            tallies[key.agentID, default: Tally()].add("executor \(key.executorID)", resources)
        }
        for (agentID, agent) in master.agents where !agent.isRecovered {
            guard let total = master.allocator.total(of: agentID), let free = master.allocator.free(on: agentID) else {
                return fail("agent \(agentID) is known to the master but not to its allocator")
            }
            var tally = tallies[agentID] ?? Tally()
            tally.add("free", free)
            if let problem = tally.mismatch(total) {
                let offers = master.offers.values.filter { $0.agentID == agentID }.sorted { $0.id < $1.id }
                return fail("on agent \(agentID) offered + used + free != total (\(problem)): offers \(offers.map { "\($0.id)=\($0.resources)" }), used \(master.used(on: agentID)), free \(free), total \(total)")
            }
        }
    }

    /// 2, agent side: what an agent runs fits in the agent, ports not shared.
    private mutating func checkAgentUsage(_ index: Int) {
        guard let core = agents[index].core else { return }
        var tally = Tally()
        for (key, task) in core.tasks where !task.state.isTerminal {
            let resources: Resources
            if let cached = agents[index].parsed[key], cached.proto == task.info.resources {
                resources = cached.resources
            } else {
                resources = Wire.resources(task.info.resources)
                agents[index].parsed[key] = (task.info.resources, resources)
            }
            tally.add("task \(key.taskID)", resources)
        }
        for (key, executor) in core.executors where !executor.info.resources.isEmpty {
            tally.add("executor \(key.executorID)", Wire.resources(executor.info.resources))
        }
        if let problem = tally.excess(over: agents[index].total) {
            fail("agent \(index) runs more than its total \(agents[index].total): \(problem)")
        }
    }

    // MARK: - After the drain

    /// Liveness after the quiet period: 3. every launched task is tracked or ended
    /// exactly once at its framework; 4. every update was delivered and acknowledged;
    /// and the master and agents agree on what runs.
    mutating func checkQuiescence() {
        guard let master else { return fail("the master is down at the end of the drain") }
        for index in agents.indices {
            guard let core = agents[index].core else { return fail("agent \(index) is down at the end of the drain") }
            guard core.registration == .registered, let agentID = core.agentID else {
                return fail("agent \(index) is not registered at the end of the drain (\(core.registration))")
            }
            guard master.agents[agentID]?.isReachable == true else {
                return fail("the master does not see agent \(index) (\(agentID)) as reachable at the end of the drain")
            }
            if core.unacknowledgedUpdateCount > 0 {
                let pending = core.streams.keys.sorted().compactMap { key in
                    core.streams[key]?.pending.first.map { "\(key.taskID) \(Wire.state($0.status.state)) \(Wire.short($0.status.uuid))" }
                }
                return fail("agent \(index) still has \(core.unacknowledgedUpdateCount) unacknowledged updates after the drain: \(pending)")
            }
            for update in agents[index].checkpointed {
                guard let framework = frameworks.first(where: { $0.frameworkID == update.frameworkID }) else { continue }
                if !framework.receivedUUIDs.contains(update.uuid) {
                    return fail("update \(Wire.short(update.uuid)) (\(update.taskID) \(Wire.state(update.state))) checkpointed by agent \(index) never reached \(framework.name)")
                }
            }
            // The master and the agent agree on what runs there.
            for key in core.tasks.keys.sorted() {
                guard let task = core.tasks[key], !task.state.isTerminal else { continue }
                let tracked = master.tasks[TaskKey(frameworkID: key.frameworkID, taskID: key.taskID)]
                if tracked?.agentID != agentID {
                    return fail("agent \(index) runs \(key.taskID) (\(Wire.state(task.state))) but the master \(tracked == nil ? "does not track it" : "places it on \(tracked!.agentID)")")
                }
            }
            for key in (master.agents[agentID]?.tasks ?? []).sorted() {
                guard let task = master.tasks[key], !task.state.isTerminal, task.state != .taskStaging else { continue }
                if core.tasks[AgentTaskKey(frameworkID: key.frameworkID, taskID: key.taskID)] == nil {
                    return fail("the master tracks \(key.taskID) as \(Wire.state(task.state)) on agent \(index), which does not know it")
                }
            }
            // ... and on the executors that hold resources there: none charged that is gone
            // (resources lost to offers), none running uncharged (the agent over-committed).
            // As above, a launch still STAGING may not have reached the agent: its
            // executor is left out.
            let staging = Set((master.agents[agentID]?.tasks ?? []).compactMap { key -> String? in
                guard let task = master.tasks[key], task.state == .taskStaging, let executorID = task.executorID else { return nil }
                return "\(key.frameworkID)/\(executorID)"
            })
            let charged = Set(master.executors.filter { $0.key.agentID == agentID && !$0.value.isEmpty }
                .map { "\($0.key.frameworkID)/\($0.key.executorID)" }).subtracting(staging)
            let running = Set(core.executors.filter { !$0.value.info.resources.isEmpty }
                .map { "\($0.key.frameworkID)/\($0.key.executorID)" }).subtracting(staging)
            if charged != running {
                return fail("on agent \(index) the master charges executors \(charged.sorted()) but the agent runs \(running.sorted())")
            }
        }
        for executor in executors.values.sorted(by: { $0.pid < $1.pid }) where executor.subscribed && !executor.pending.isEmpty {
            return fail("executor \(executor.pid) still has \(executor.pending.count) unacknowledged updates after the drain")
        }
        for framework in frameworks {
            guard let frameworkID = framework.frameworkID else { continue }
            for taskID in framework.taskOrder {
                let record = framework.tasks[taskID]!
                if record.terminal != nil || !record.admitted { continue }
                if master.tasks[TaskKey(frameworkID: frameworkID, taskID: taskID)] != nil { continue }
                if record.lostWithMaster, let answer = record.drainReconciliation,
                   answer == .taskUnknown || answer == .taskLost {
                    continue  // lost with the master while STAGING; reconciliation told the framework
                }
                if record.drainReconciliation == .taskUnreachable, master.agents[record.agentID]?.isReachable == false {
                    continue  // its agent never came back (e.g. admitted, then lost before it learnt its ID)
                }
                return fail("task \(taskID) of \(framework.name) (launched at step \(record.launchedAtStep) on \(record.agentID)) was forgotten: last state \(Wire.state(record.latest)), no terminal state, not tracked by the master")
            }
        }
    }

    // MARK: - Sabotage (proves the checks can fail)

    private mutating func applySabotage() {
        guard let sabotage = settings.sabotage else { return }
        switch sabotage {
        case .duplicateOffer:
            guard master != nil, let offer = master!.offers.values.min(by: { $0.id < $1.id }),
                  master!.offers["planted"] == nil else { return }
            var copy = offer
            copy.id = "planted"
            master!.offers[copy.id] = copy
            masterDirty = true
        case .rogueTask:
            guard step == 60 || step == 120, agents[0].core?.registration == .registered,
                  let agentID = agents[0].core?.agentID else { return }
            var run = Agora_V1_RunTask()
            run.agentID.value = agentID
            run.frameworkInfo.id.value = "rogue"
            run.task.taskID.value = "rogue-\(step)"
            run.task.command.value = "sleep"
            run.task.resources = (agents[0].total + Wire.bag("cpus:1")).proto
            var envelope = Agora_V1_Envelope()
            envelope.runTask = run
            _ = agents[0].core!.handleMaster(envelope, now: now - agents[0].startedAt)
            agents[0].dirty = true
        case .forgeTerminalUpdate, .loseUpdatesAtFramework, .resendAcknowledged, .silentExecutorExits:
            break  // applied where messages are delivered or agents crash
        }
    }
}

/// Sums pieces of resources cheaply (scalars in thousandths, ports as labelled ranges)
/// to compare them with an agent's total without `Resources` arithmetic.
struct Tally {
    var scalars: [String: Int64] = [:]
    var ports: [(range: ClosedRange<UInt64>, label: String)] = []

    mutating func add(_ label: @autoclosure () -> String, _ resources: Resources) {
        var name: String?
        for resource in resources {
            switch resource.value {
            case .scalar(let scalar): scalars[resource.name, default: 0] += scalar.thousandths
            case .ranges(let ranges):
                let text = name ?? label()
                name = text
                for range in ranges.ranges { ports.append((range, text)) }
            case .set: break
            }
        }
    }

    /// Two pieces sharing a port, described, or nil.
    func overlap() -> String? {
        let sorted = ports.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for index in sorted.indices.dropFirst() where sorted[index].range.lowerBound <= sorted[index - 1].range.upperBound {
            return "ports \(sorted[index - 1].range) of \(sorted[index - 1].label) and \(sorted[index].range) of \(sorted[index].label) overlap"
        }
        return nil
    }

    private static func scalars(of resources: Resources) -> [String: Int64] {
        var totals: [String: Int64] = [:]
        for resource in resources {
            if case .scalar(let scalar) = resource.value { totals[resource.name, default: 0] += scalar.thousandths }
        }
        return totals
    }

    /// Why the pieces are not exactly `total` (scalars equal, ports disjoint and covering it), or nil.
    func mismatch(_ total: Resources) -> String? {
        let expected = Self.scalars(of: total)
        if scalars.filter({ $0.value != 0 }) != expected.filter({ $0.value != 0 }) {
            return "scalars add up to \(scalars.sorted { $0.key < $1.key }), total \(expected.sorted { $0.key < $1.key })"
        }
        if let overlap = overlap() { return overlap }
        let union = RangeSet(ports.map(\.range))
        if union != total.ports { return "ports \(union) in the pieces, total \(total.ports)" }
        return nil
    }

    /// What the pieces take beyond `total` (or a shared port), or nil.
    func excess(over total: Resources) -> String? {
        let limit = Self.scalars(of: total)
        for (name, value) in scalars.sorted(by: { $0.key < $1.key }) where value > limit[name, default: 0] {
            return "\(name) \(Double(value) / 1_000) > \(Double(limit[name, default: 0]) / 1_000)"
        }
        if let overlap = overlap() { return overlap }
        if !total.ports.contains(RangeSet(ports.map(\.range))) { return "ports outside \(total.ports)" }
        return nil
    }
}
