import Resources

/// The master's allocator: hierarchical DRF, roles by weighted dominant share, then
/// frameworks within a role by their dominant share in it.
///
/// A pure value with no I/O and no clock: time comes in as `now`, the time since the
/// master started. Bookkeeping is incremental: a cycle visits only active agents with
/// something worth offering, and each allocation moves one framework and one role in
/// the sorted orders instead of re-sorting.
public struct Allocator: Sendable {
    public private(set) var configuration: AllocatorConfiguration

    private struct AgentRecord: Sendable {
        var slot: Int
        var total: Resources
        /// `total` minus everything in `allocated`.
        var free: Resources
        var allocated: [FrameworkID: Resources] = [:]
        var isActive = true
    }

    private struct FrameworkRecord: Sendable {
        var roles: Set<Role>
        var suppressedRoles: Set<Role> = []
        var isActive = true
        /// What the framework holds, per agent and per role it was allocated for.
        var allocations: [AgentID: [Role: Resources]] = [:]
        var quantities = ScalarQuantities()
    }

    private struct RoleRecord: Sendable {
        var quantities = ScalarQuantities()
        var frameworkQuantities: [FrameworkID: ScalarQuantities] = [:]
        var subscribers: Set<FrameworkID> = []
        /// Frameworks that may be offered resources for this role (active, subscribed,
        /// not suppressed), in DRF order.
        var order = ShareOrder()
    }

    /// A decline filter: no offer for `role` on that agent that `resources` contain before `expiry`.
    private struct OfferFilter: Sendable {
        var role: Role
        var resources: Resources
        var expiry: Duration
    }

    private var agents: [AgentID: AgentRecord] = [:]
    private var frameworks: [FrameworkID: FrameworkRecord] = [:]
    private var roles: [Role: RoleRecord] = [:]
    /// Roles with at least one framework in their order, by weighted dominant share.
    private var roleOrder = ShareOrder()
    /// Marked: active agents whose free resources reach the minimum allocatable.
    private var slots = AgentSlots()
    /// Agents holding resources of frameworks not added yet (an agent re-registered first).
    private var untracked: [FrameworkID: Set<AgentID>] = [:]
    private var filters: [AgentID: [FrameworkID: [OfferFilter]]] = [:]
    private var filteredAgents: [FrameworkID: Set<AgentID>] = [:]
    /// Scalar totals of the active agents: the denominator of every share.
    private var clusterTotal = ScalarQuantities()
    /// Set when the cluster total or the weights changed: cached shares are re-sorted
    /// at the start of the next cycle.
    private var sharesAreStale = false
    private var cycle: UInt64 = 0
    private let minimumAlternatives: [Resources]

    public init(configuration: AllocatorConfiguration = AllocatorConfiguration()) {
        self.configuration = configuration
        minimumAlternatives = configuration.minimumAllocatable.map { $0.flattened() }
    }

    public var agentCount: Int { agents.count }
    public var frameworkCount: Int { frameworks.count }

    // MARK: Agents

    /// Adds an agent with `total` resources, of which `allocated` are already used by
    /// frameworks' tasks (an agent re-registering); re-adding an agent replaces it.
    public mutating func addAgent(_ id: AgentID, total: Resources, allocated: [FrameworkID: Resources] = [:]) {
        if agents[id] != nil { removeAgent(id) }
        agents[id] = AgentRecord(slot: slots.assign(id), total: total, free: total)
        clusterTotal += ScalarQuantities(total)
        sharesAreStale = true
        for (frameworkID, resources) in allocated.sorted(by: { $0.key < $1.key }) {
            adopt(resources, framework: frameworkID, agent: id)
        }
        refreshOfferable(id)
    }

    /// Records resources already used by a framework's tasks on a known agent (found
    /// when the agent re-registers), capped to what is free there.
    public mutating func addUsed(_ resources: Resources, agent agentID: AgentID, framework frameworkID: FrameworkID) {
        adopt(resources, framework: frameworkID, agent: agentID)
    }

    /// Removes an agent; its allocations and the filters on it vanish.
    public mutating func removeAgent(_ id: AgentID) {
        guard let agent = agents[id] else { return }
        for frameworkID in agent.allocated.keys.sorted() {
            release(framework: frameworkID, agent: id)
        }
        if agent.isActive {
            clusterTotal -= ScalarQuantities(agent.total)
            sharesAreStale = true
        }
        slots.release(agent.slot)
        agents[id] = nil
        if let removed = filters.removeValue(forKey: id) {
            for frameworkID in removed.keys { forgetFilteredAgent(id, of: frameworkID) }
        }
    }

    /// Stops offering an agent's resources (it is unreachable); allocations stay, and
    /// it no longer counts in the cluster total.
    public mutating func deactivateAgent(_ id: AgentID) {
        guard let agent = agents[id], agent.isActive else { return }
        agents[id]!.isActive = false
        clusterTotal -= ScalarQuantities(agent.total)
        sharesAreStale = true
        refreshOfferable(id)
    }

    public mutating func activateAgent(_ id: AgentID) {
        guard let agent = agents[id], !agent.isActive else { return }
        agents[id]!.isActive = true
        clusterTotal += ScalarQuantities(agent.total)
        sharesAreStale = true
        refreshOfferable(id)
    }

    // MARK: Frameworks

    /// Adds an active framework subscribed to `roles`. `allocated` is what it already
    /// uses per agent (a framework re-registering); resources an agent already reported
    /// for it count once. Re-adding a framework re-activates it with these roles.
    public mutating func addFramework(
        _ id: FrameworkID,
        roles newRoles: Set<Role>,
        suppressedRoles: Set<Role> = [],
        allocated: [AgentID: Resources] = [:]
    ) {
        let isNew = frameworks[id] == nil
        if isNew { frameworks[id] = FrameworkRecord(roles: []) }
        frameworks[id]!.isActive = true
        frameworks[id]!.suppressedRoles = suppressedRoles.intersection(newRoles)
        updateFrameworkRoles(id, roles: newRoles)
        for role in newRoles.sorted() { refreshEligibility(id, role: role) }
        if isNew {
            for agentID in (untracked.removeValue(forKey: id) ?? []).sorted() {
                guard let held = agents[agentID]?.allocated[id] else { continue }
                for (role, part) in attribute(held, to: id) {
                    track(part, framework: id, role: role, agent: agentID, removing: false)
                }
            }
        }
        for (agentID, resources) in allocated.sorted(by: { $0.key < $1.key }) {
            guard let agent = agents[agentID] else { continue }
            adopt(resources - (agent.allocated[id] ?? Resources()), framework: id, agent: agentID)
        }
    }

    /// Removes a framework; everything allocated to it becomes free.
    public mutating func removeFramework(_ id: FrameworkID) {
        var agentIDs = untracked[id] ?? []
        agentIDs.formUnion(frameworks[id]?.allocations.keys.map { $0 } ?? [])
        for agentID in agentIDs.sorted() {
            release(framework: id, agent: agentID)
        }
        removeFilters(of: id, roles: nil)
        untracked[id] = nil
        guard let record = frameworks.removeValue(forKey: id) else { return }
        for role in record.roles.sorted() {
            roles[role]?.subscribers.remove(id)
            refreshEligibility(id, role: role)
        }
    }

    /// Stops offers to a disconnected framework; its allocations stay, its filters go.
    public mutating func deactivateFramework(_ id: FrameworkID) {
        guard let record = frameworks[id], record.isActive else { return }
        frameworks[id]!.isActive = false
        removeFilters(of: id, roles: nil)
        for role in record.roles.sorted() { refreshEligibility(id, role: role) }
    }

    public mutating func activateFramework(_ id: FrameworkID) {
        guard let record = frameworks[id], !record.isActive else { return }
        frameworks[id]!.isActive = true
        for role in record.roles.sorted() { refreshEligibility(id, role: role) }
    }

    /// Changes a framework's roles. Allocations made for a dropped role still count for
    /// that role until recovered; suppression and filters of dropped roles go.
    public mutating func updateFrameworkRoles(_ id: FrameworkID, roles newRoles: Set<Role>) {
        guard let old = frameworks[id]?.roles else { return }
        frameworks[id]!.roles = newRoles
        frameworks[id]!.suppressedRoles.formIntersection(newRoles)
        let dropped = old.subtracting(newRoles)
        removeFilters(of: id, roles: dropped)
        for role in dropped.sorted() {
            roles[role]?.subscribers.remove(id)
            refreshEligibility(id, role: role)
        }
        for role in newRoles.subtracting(old).sorted() {
            roles[role, default: RoleRecord()].subscribers.insert(id)
            refreshEligibility(id, role: role)
        }
    }

    /// Stops offers to a framework for `roles` (nil: all its roles) until revived.
    public mutating func suppress(_ id: FrameworkID, roles suppressed: Set<Role>?) {
        guard let record = frameworks[id] else { return }
        let targets = (suppressed ?? record.roles).intersection(record.roles)
        frameworks[id]!.suppressedRoles.formUnion(targets)
        for role in targets.sorted() { refreshEligibility(id, role: role) }
    }

    /// Resumes offers to a framework for `roles` (nil: all its roles) and clears its
    /// decline filters for them.
    public mutating func revive(_ id: FrameworkID, roles revived: Set<Role>?) {
        guard let record = frameworks[id] else { return }
        let targets = revived ?? record.roles
        frameworks[id]!.suppressedRoles.subtract(targets)
        removeFilters(of: id, roles: targets)
        for role in targets.intersection(record.roles).sorted() { refreshEligibility(id, role: role) }
    }

    // MARK: Resources

    /// Resources given back: a declined, rescinded or expired offer, the unused part of
    /// an accepted offer, or a finished task. Only what the framework holds there is
    /// freed; `role` says which of its roles they were allocated for (nil: any).
    ///
    /// With `refuseFor` (a decline with a filter), the framework is not offered these
    /// resources on this agent again before `now + refuseFor`: the filter matches later
    /// offers on the agent, for the same role, whose resources these contain.
    public mutating func recover(
        _ resources: Resources,
        agent agentID: AgentID,
        framework frameworkID: FrameworkID,
        role: Role? = nil,
        refuseFor: Duration?,
        now: Duration
    ) {
        var recoveredRoles: Set<Role> = []
        if let held = agents[agentID]?.allocated[frameworkID] {
            var recovered = Resources()
            if let byRole = frameworks[frameworkID]?.allocations[agentID] {
                var remaining = resources
                let candidates = (role.map { [$0] } ?? []) + byRole.keys.sorted().filter { $0 != role }
                for candidate in candidates {
                    guard let have = byRole[candidate] else { continue }
                    let piece = Self.intersection(remaining, have)
                    guard !piece.isEmpty else { continue }
                    track(piece, framework: frameworkID, role: candidate, agent: agentID, removing: true)
                    remaining -= piece
                    recovered += piece
                    recoveredRoles.insert(candidate)
                }
            } else {
                recovered = Self.intersection(resources, held)
            }
            let rest = held - recovered
            agents[agentID]!.allocated[frameworkID] = rest.isEmpty ? nil : rest
            agents[agentID]!.free += recovered
            if rest.isEmpty, untracked[frameworkID]?.remove(agentID) != nil, untracked[frameworkID]!.isEmpty {
                untracked[frameworkID] = nil
            }
            refreshOfferable(agentID)
        }

        guard let refuseFor, refuseFor > .zero, !resources.isEmpty, agents[agentID] != nil,
            let record = frameworks[frameworkID]
        else { return }
        let filteredRoles = role.map { [$0] } ?? (recoveredRoles.isEmpty ? record.roles : recoveredRoles)
        var list = (filters[agentID]?[frameworkID] ?? []).filter { $0.expiry > now }
        for filteredRole in filteredRoles.sorted() {
            list.append(OfferFilter(role: filteredRole, resources: resources, expiry: now + refuseFor))
        }
        filters[agentID, default: [:]][frameworkID] = list
        filteredAgents[frameworkID, default: []].insert(agentID)
    }

    /// A declined offer: `recover` with a filter for `refuseFor`, or for the configured
    /// `defaultRefuseSeconds` when nil.
    public mutating func decline(
        _ resources: Resources,
        agent agentID: AgentID,
        framework frameworkID: FrameworkID,
        role: Role? = nil,
        refuseFor: Duration? = nil,
        now: Duration
    ) {
        recover(
            resources, agent: agentID, framework: frameworkID, role: role,
            refuseFor: refuseFor ?? configuration.defaultRefuseSeconds, now: now)
    }

    /// Replaces the role weights; roles are re-sorted at the next cycle.
    public mutating func updateWeights(_ weights: RoleWeights) {
        configuration.weights = weights
        sharesAreStale = true
    }

    // MARK: Allocation cycle

    /// One allocation cycle: offers the free resources of active agents to active,
    /// unsuppressed frameworks in hierarchical DRF order, each agent's resources
    /// allocatable to a role going whole to the first framework of that role not
    /// filtered there. Everything returned counts as allocated until recovered.
    public mutating func allocate(now: Duration) -> [Allocation] {
        var allocations: [Allocation] = []
        if sharesAreStale { resort() }
        guard !roleOrder.isEmpty, slots.markedCount > 0 else { return allocations }
        cycle &+= 1
        var visitOrder = slots.marked
        var generator = SplitMix64(seed: configuration.agentShuffleSeed ^ (cycle &* 0xD1B5_4A32_D192_ED03))
        visitOrder.shuffle(using: &generator)
        for slot in visitOrder {
            guard !roleOrder.isEmpty else { break }
            guard let agentID = slots.ids[slot] else { continue }
            while let allocation = nextAllocation(on: agentID, now: now) {
                commit(allocation)
                allocations.append(allocation)
            }
        }
        return allocations
    }

    /// The first role, then framework, in DRF order that may take this agent's free resources.
    private mutating func nextAllocation(on agentID: AgentID, now: Duration) -> Allocation? {
        guard let agent = agents[agentID], agent.isActive, isAllocatable(agent.free) else { return nil }
        let hasReservations = agent.free.contains(where: \.isReserved)
        let agentFilters = filters[agentID]
        for roleEntry in roleOrder {
            let role = roleEntry.id
            let offerable = hasReservations ? agent.free.allocatable(to: role) : agent.free
            if hasReservations, !isAllocatable(offerable) { continue }
            guard let order = roles[role]?.order else { continue }
            for entry in order {
                if let list = agentFilters?[entry.id],
                    isFiltered(entry.id, list, role: role, agent: agentID, offering: offerable, now: now)
                {
                    continue
                }
                return Allocation(frameworkID: entry.id, role: role, agentID: agentID, resources: offerable)
            }
        }
        return nil
    }

    /// Whether a live filter blocks the offer; drops expired filters on the way.
    private mutating func isFiltered(
        _ frameworkID: FrameworkID, _ list: [OfferFilter], role: Role, agent agentID: AgentID,
        offering resources: Resources, now: Duration
    ) -> Bool {
        let live = list.filter { $0.expiry > now }
        if live.count != list.count {
            if live.isEmpty {
                filters[agentID]?[frameworkID] = nil
                if filters[agentID]?.isEmpty == true { filters[agentID] = nil }
                forgetFilteredAgent(agentID, of: frameworkID)
            } else {
                filters[agentID]?[frameworkID] = live
            }
        }
        return live.contains { $0.role == role && $0.resources.contains(resources) }
    }

    private mutating func commit(_ allocation: Allocation) {
        let agentID = allocation.agentID
        agents[agentID]!.allocated[allocation.frameworkID, default: Resources()] += allocation.resources
        agents[agentID]!.free -= allocation.resources
        refreshOfferable(agentID)
        track(allocation.resources, framework: allocation.frameworkID, role: allocation.role, agent: agentID, removing: false)
    }

    // MARK: Views

    /// An agent's total resources, nil for an unknown agent.
    public func total(of agent: AgentID) -> Resources? { agents[agent]?.total }

    /// An agent's resources not allocated to any framework, nil for an unknown agent.
    public func free(on agent: AgentID) -> Resources? { agents[agent]?.free }

    /// What each framework holds on an agent.
    public func allocated(on agent: AgentID) -> [FrameworkID: Resources] { agents[agent]?.allocated ?? [:] }

    /// What a framework holds, per agent.
    public func allocated(to framework: FrameworkID) -> [AgentID: Resources] {
        (frameworks[framework]?.allocations ?? [:]).mapValues { $0.values.reduce(Resources(), +) }
    }

    /// A framework's dominant share over all its roles, against the active agents' total.
    public func dominantShare(of framework: FrameworkID) -> Double {
        frameworks[framework]?.quantities.dominantShare(of: clusterTotal) ?? 0
    }

    /// A role's dominant share divided by its weight: what roles are sorted by.
    public func roleShare(of role: Role) -> Double {
        (roles[role]?.quantities.dominantShare(of: clusterTotal) ?? 0) / configuration.weights[role]
    }

    // MARK: Bookkeeping

    /// Records `resources` (capped to what is free) as held by a framework on an agent.
    private mutating func adopt(_ resources: Resources, framework frameworkID: FrameworkID, agent agentID: AgentID) {
        guard let agent = agents[agentID] else { return }
        let piece = Self.intersection(resources, agent.free)
        guard !piece.isEmpty else { return }
        agents[agentID]!.allocated[frameworkID, default: Resources()] += piece
        agents[agentID]!.free -= piece
        if frameworks[frameworkID] != nil {
            for (role, part) in attribute(piece, to: frameworkID) {
                track(part, framework: frameworkID, role: role, agent: agentID, removing: false)
            }
        } else {
            untracked[frameworkID, default: []].insert(agentID)
        }
        refreshOfferable(agentID)
    }

    /// Frees everything a framework holds on an agent.
    private mutating func release(framework frameworkID: FrameworkID, agent agentID: AgentID) {
        guard let held = agents[agentID]?.allocated[frameworkID] else { return }
        if let byRole = frameworks[frameworkID]?.allocations[agentID] {
            for (role, part) in byRole {
                track(part, framework: frameworkID, role: role, agent: agentID, removing: true)
            }
        }
        if untracked[frameworkID]?.remove(agentID) != nil, untracked[frameworkID]!.isEmpty {
            untracked[frameworkID] = nil
        }
        agents[agentID]!.allocated[frameworkID] = nil
        agents[agentID]!.free += held
        refreshOfferable(agentID)
    }

    /// Adds or removes a framework's allocation for a role on an agent in the per-role
    /// books, and moves the framework and the role to their new places in DRF order.
    private mutating func track(
        _ resources: Resources, framework frameworkID: FrameworkID, role: Role, agent agentID: AgentID,
        removing: Bool
    ) {
        guard !resources.isEmpty, frameworks[frameworkID] != nil else { return }
        var byRole = frameworks[frameworkID]!.allocations[agentID] ?? [:]
        if removing {
            let rest = (byRole[role] ?? Resources()) - resources
            byRole[role] = rest.isEmpty ? nil : rest
        } else {
            byRole[role, default: Resources()] += resources
        }
        frameworks[frameworkID]!.allocations[agentID] = byRole.isEmpty ? nil : byRole

        let quantities = ScalarQuantities(resources)
        guard !quantities.isEmpty else { return }
        if removing {
            frameworks[frameworkID]!.quantities -= quantities
            roles[role, default: RoleRecord()].quantities -= quantities
            roles[role]!.frameworkQuantities[frameworkID, default: ScalarQuantities()] -= quantities
            if roles[role]!.frameworkQuantities[frameworkID]!.isEmpty {
                roles[role]!.frameworkQuantities[frameworkID] = nil
            }
        } else {
            frameworks[frameworkID]!.quantities += quantities
            roles[role, default: RoleRecord()].quantities += quantities
            roles[role]!.frameworkQuantities[frameworkID, default: ScalarQuantities()] += quantities
        }
        if roles[role]!.order.contains(frameworkID) {
            let share = frameworkShare(frameworkID, in: role)
            roles[role]!.order.set(frameworkID, share: share)
        }
        refreshRoleOrder(role)
    }

    /// Puts a framework into, or takes it out of, a role's order according to whether
    /// it may be offered resources for that role.
    private mutating func refreshEligibility(_ frameworkID: FrameworkID, role: Role) {
        let isEligible = frameworks[frameworkID].map {
            $0.isActive && $0.roles.contains(role) && !$0.suppressedRoles.contains(role)
        } ?? false
        if isEligible {
            let share = frameworkShare(frameworkID, in: role)
            roles[role, default: RoleRecord()].order.set(frameworkID, share: share)
        } else {
            roles[role]?.order.remove(frameworkID)
        }
        refreshRoleOrder(role)
    }

    /// Moves a role in the role order, or takes it out when no framework may take offers
    /// for it; forgets roles with neither frameworks nor allocations.
    private mutating func refreshRoleOrder(_ role: Role) {
        guard let record = roles[role] else {
            roleOrder.remove(role)
            return
        }
        if record.order.isEmpty {
            roleOrder.remove(role)
            if record.subscribers.isEmpty, record.frameworkQuantities.isEmpty { roles[role] = nil }
        } else {
            roleOrder.set(role, share: record.quantities.dominantShare(of: clusterTotal) / configuration.weights[role])
        }
    }

    /// Recomputes every cached share after the cluster total or the weights changed.
    private mutating func resort() {
        sharesAreStale = false
        let total = clusterTotal
        for role in Array(roles.keys) {
            let quantities = roles[role]!.frameworkQuantities
            roles[role]!.order.rebuild { quantities[$0]?.dominantShare(of: total) ?? 0 }
        }
        let current = roles
        let weights = configuration.weights
        roleOrder.rebuild { role in
            (current[role]?.quantities.dominantShare(of: total) ?? 0) / weights[role]
        }
    }

    private func frameworkShare(_ frameworkID: FrameworkID, in role: Role) -> Double {
        roles[role]?.frameworkQuantities[frameworkID]?.dominantShare(of: clusterTotal) ?? 0
    }

    private mutating func refreshOfferable(_ agentID: AgentID) {
        guard let agent = agents[agentID] else { return }
        if agent.isActive, isAllocatable(agent.free) {
            slots.mark(agent.slot)
        } else {
            slots.unmark(agent.slot)
        }
    }

    /// Whether `resources` hold at least one minimum-allocatable alternative.
    private func isAllocatable(_ resources: Resources) -> Bool {
        guard !resources.isEmpty else { return false }
        guard !minimumAlternatives.isEmpty else { return true }
        let flat = resources.flattened()
        return minimumAlternatives.contains { flat.contains($0) }
    }

    /// Which role untagged resources (reported by an agent or a re-registering
    /// framework) were allocated for: a reservation's role, or the framework's first role.
    private func attribute(_ resources: Resources, to frameworkID: FrameworkID) -> [Role: Resources] {
        let subscribed = (frameworks[frameworkID]?.roles ?? []).sorted()
        var byRole: [Role: Resources] = [:]
        for resource in resources {
            let role: Role
            if resource.isReserved {
                role = subscribed.first { $0 == resource.role || $0.hasPrefix(resource.role + "/") } ?? resource.role
            } else {
                role = subscribed.first ?? Resource.unreservedRole
            }
            byRole[role, default: Resources()].add(resource)
        }
        return byRole
    }

    /// Drops a framework's filters for `roles` (nil: all) on every agent.
    private mutating func removeFilters(of frameworkID: FrameworkID, roles filteredRoles: Set<Role>?) {
        guard let agentIDs = filteredAgents[frameworkID] else { return }
        for agentID in agentIDs {
            let rest = filteredRoles.map { dropped in
                (filters[agentID]?[frameworkID] ?? []).filter { !dropped.contains($0.role) }
            } ?? []
            if rest.isEmpty {
                filters[agentID]?[frameworkID] = nil
                if filters[agentID]?.isEmpty == true { filters[agentID] = nil }
                forgetFilteredAgent(agentID, of: frameworkID)
            } else {
                filters[agentID]?[frameworkID] = rest
            }
        }
    }

    private mutating func forgetFilteredAgent(_ agentID: AgentID, of frameworkID: FrameworkID) {
        if filteredAgents[frameworkID]?.remove(agentID) != nil, filteredAgents[frameworkID]!.isEmpty {
            filteredAgents[frameworkID] = nil
        }
    }

    /// What `a` and `b` have in common (for scalars, the smaller amount).
    private static func intersection(_ a: Resources, _ b: Resources) -> Resources {
        a - (a - b)
    }
}
