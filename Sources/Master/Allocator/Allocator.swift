import Resources

/// The master's allocator: hierarchical DRF, roles by weighted dominant share, then
/// frameworks within a role by their dominant share in it.
///
/// A pure value with no I/O and no clock: time comes in as `now`, the time since the
/// master started. Bookkeeping is incremental: a cycle visits only active agents with
/// something worth offering, and each allocation moves one framework and one role in
/// the sorted orders instead of re-sorting. The API speaks string IDs; inside, agents,
/// frameworks, roles and resource names are numbered once, when first seen, so a cycle
/// indexes arrays instead of hashing strings.
public struct Allocator: Sendable {
    public private(set) var configuration: AllocatorConfiguration

    private struct AgentRecord: Sendable {
        var total: Resources
        /// `total` minus every holding's total.
        var free: Resources
        /// What each framework (by index) holds here.
        var holdings: [Int: Holding] = [:]
        /// Decline filters on this agent, by framework index.
        var filters: [Int: [OfferFilter]] = [:]
        var isActive = true
    }

    /// What one framework holds on one agent.
    private struct Holding: Sendable {
        var total: Resources
        /// The same resources by the role they were allocated for; empty while the
        /// framework is not added (the agent reported them first).
        var byRole: [RoleResources] = []

        func resources(for role: Role) -> Resources? {
            byRole.first { $0.role == role }?.resources
        }

        var sumOverRoles: Resources { byRole.reduce(Resources()) { $0 + $1.resources } }
    }

    private struct RoleResources: Sendable {
        var role: Role
        var resources: Resources
    }

    private struct FrameworkRecord: Sendable {
        var roles: Set<Role>
        var suppressedRoles: Set<Role> = []
        var isActive = true
        /// Agents (by slot) where it holds resources tracked by role.
        var heldAgents: Set<Int> = []
        /// Agents (by slot) where it has decline filters.
        var filteredAgents: Set<Int> = []
        var quantities = ScalarQuantities()
        /// Its quantities per role (by index) it holds allocations for.
        var roleQuantities: [(role: Int, quantities: ScalarQuantities)] = []

        func quantities(in role: Int) -> ScalarQuantities? {
            roleQuantities.first { $0.role == role }?.quantities
        }
    }

    /// A framework ID known to the allocator: added, or holding resources on an agent
    /// that re-registered before the framework did.
    private struct FrameworkSlot: Sendable {
        var id: FrameworkID
        var record: FrameworkRecord?
        /// Agents (by slot) holding its resources while it is not added.
        var untrackedAgents: Set<Int> = []
    }

    private struct RoleRecord: Sendable {
        var name: Role
        var weight: Double
        var quantities = ScalarQuantities()
        /// How many frameworks hold quantities for this role.
        var allocatedFrameworkCount = 0
        var subscribers: Set<Int> = []
        /// Frameworks (by index) that may be offered resources for this role (active,
        /// subscribed, not suppressed), in DRF order.
        var order = ShareOrder()
    }

    /// A decline filter: no offer for `role` on that agent that `resources` contain before `expiry`.
    private struct OfferFilter: Sendable {
        var role: Role
        var resources: Resources
        var expiry: Duration
    }

    /// One allocation decided on an agent, before it is committed.
    private struct Candidate {
        var framework: Int
        var role: Int
        var resources: Resources
        /// Whether `resources` are everything free on the agent.
        var takesAllFree: Bool
    }

    private var agentSlots: [AgentID: Int] = [:]
    /// By slot; `slots` hands slots out and remembers which agents are worth visiting.
    private var agents: [AgentRecord?] = []
    private var frameworkIndices: [FrameworkID: Int] = [:]
    private var frameworks: [FrameworkSlot?] = []
    private var vacantFrameworkIndices: [Int] = []
    private var addedFrameworkCount = 0
    private var roleIndices: [Role: Int] = [:]
    private var roles: [RoleRecord?] = []
    private var vacantRoleIndices: [Int] = []
    /// Roles (by index) with at least one framework in their order, by weighted dominant share.
    private var roleOrder = ShareOrder()
    /// Marked: active agents whose free resources reach the minimum allocatable.
    private var slots = AgentSlots()
    private var scalarNames = ScalarNames()
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

    public var agentCount: Int { agentSlots.count }
    public var frameworkCount: Int { addedFrameworkCount }

    // MARK: Agents

    /// Adds an agent with `total` resources, of which `allocated` are already used by
    /// frameworks' tasks (an agent re-registering); re-adding an agent replaces it.
    public mutating func addAgent(_ id: AgentID, total: Resources, allocated: [FrameworkID: Resources] = [:]) {
        if agentSlots[id] != nil { removeAgent(id) }
        let slot = slots.assign(id)
        agentSlots[id] = slot
        if slot == agents.count { agents.append(nil) }
        agents[slot] = AgentRecord(total: total, free: total)
        clusterTotal += ScalarQuantities(total, names: &scalarNames)
        sharesAreStale = true
        for (frameworkID, resources) in allocated.sorted(by: { $0.key < $1.key }) {
            adopt(resources, framework: frameworkID, agent: slot)
        }
        refreshOfferable(slot)
    }

    /// Records resources already used by a framework's tasks on a known agent (found
    /// when the agent re-registers), capped to what is free there.
    public mutating func addUsed(_ resources: Resources, agent agentID: AgentID, framework frameworkID: FrameworkID) {
        guard let slot = agentSlots[agentID] else { return }
        adopt(resources, framework: frameworkID, agent: slot)
    }

    /// Removes an agent; its allocations and the filters on it vanish.
    public mutating func removeAgent(_ id: AgentID) {
        guard let slot = agentSlots[id], let agent = agents[slot] else { return }
        for framework in sortedByID(frameworks: agent.holdings.keys) {
            release(framework: framework, agent: slot)
        }
        if agent.isActive {
            clusterTotal -= ScalarQuantities(agent.total, names: &scalarNames)
            sharesAreStale = true
        }
        for framework in agents[slot]!.filters.keys {
            frameworks[framework]?.record?.filteredAgents.remove(slot)
        }
        slots.release(slot)
        agents[slot] = nil
        agentSlots[id] = nil
    }

    /// Stops offering an agent's resources (it is unreachable); allocations stay, and
    /// it no longer counts in the cluster total.
    public mutating func deactivateAgent(_ id: AgentID) {
        guard let slot = agentSlots[id], let agent = agents[slot], agent.isActive else { return }
        agents[slot]!.isActive = false
        clusterTotal -= ScalarQuantities(agent.total, names: &scalarNames)
        sharesAreStale = true
        refreshOfferable(slot)
    }

    public mutating func activateAgent(_ id: AgentID) {
        guard let slot = agentSlots[id], let agent = agents[slot], !agent.isActive else { return }
        agents[slot]!.isActive = true
        clusterTotal += ScalarQuantities(agent.total, names: &scalarNames)
        sharesAreStale = true
        refreshOfferable(slot)
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
        let framework = frameworkIndex(creating: id)
        let isNew = frameworks[framework]!.record == nil
        if isNew {
            frameworks[framework]!.record = FrameworkRecord(roles: [])
            addedFrameworkCount += 1
        }
        frameworks[framework]!.record!.isActive = true
        frameworks[framework]!.record!.suppressedRoles = suppressedRoles.intersection(newRoles)
        updateRoles(of: framework, to: newRoles)
        for role in newRoles.sorted() { refreshEligibility(framework, role: role) }
        if isNew {
            let untracked = frameworks[framework]!.untrackedAgents
            frameworks[framework]!.untrackedAgents = []
            for slot in sortedByID(agents: untracked) {
                guard let held = agents[slot]?.holdings[framework]?.total else { continue }
                for (role, part) in attribute(held, to: framework) {
                    track(part, framework: framework, role: role, agent: slot, removing: false)
                }
            }
        }
        for (agentID, resources) in allocated.sorted(by: { $0.key < $1.key }) {
            guard let slot = agentSlots[agentID], let agent = agents[slot] else { continue }
            adopt(resources - (agent.holdings[framework]?.total ?? Resources()), framework: id, agent: slot)
        }
    }

    /// Removes a framework; everything allocated to it becomes free.
    public mutating func removeFramework(_ id: FrameworkID) {
        guard let framework = frameworkIndices[id], let entry = frameworks[framework] else { return }
        let holders = entry.untrackedAgents.union(entry.record?.heldAgents ?? [])
        for slot in sortedByID(agents: holders) {
            release(framework: framework, agent: slot)
        }
        removeFilters(of: framework, roles: nil)
        // Releasing its last untracked holding forgets a framework that was never added.
        frameworks[framework]?.untrackedAgents = []
        if let record = frameworks[framework]?.record {
            frameworks[framework]!.record = nil
            addedFrameworkCount -= 1
            for role in record.roles.sorted() {
                if let index = roleIndices[role] { roles[index]!.subscribers.remove(framework) }
                refreshEligibility(framework, role: role)
            }
        }
        releaseFrameworkIndexIfUnused(framework)
    }

    /// Stops offers to a disconnected framework; its allocations stay, its filters go.
    public mutating func deactivateFramework(_ id: FrameworkID) {
        guard let framework = frameworkIndices[id], let record = frameworks[framework]?.record, record.isActive
        else { return }
        frameworks[framework]!.record!.isActive = false
        removeFilters(of: framework, roles: nil)
        for role in record.roles.sorted() { refreshEligibility(framework, role: role) }
    }

    public mutating func activateFramework(_ id: FrameworkID) {
        guard let framework = frameworkIndices[id], let record = frameworks[framework]?.record, !record.isActive
        else { return }
        frameworks[framework]!.record!.isActive = true
        for role in record.roles.sorted() { refreshEligibility(framework, role: role) }
    }

    /// Changes a framework's roles. Allocations made for a dropped role still count for
    /// that role until recovered; suppression and filters of dropped roles go.
    public mutating func updateFrameworkRoles(_ id: FrameworkID, roles newRoles: Set<Role>) {
        guard let framework = frameworkIndices[id] else { return }
        updateRoles(of: framework, to: newRoles)
    }

    /// Stops offers to a framework for `roles` (nil: all its roles) until revived.
    public mutating func suppress(_ id: FrameworkID, roles suppressed: Set<Role>?) {
        guard let framework = frameworkIndices[id], let record = frameworks[framework]?.record else { return }
        let targets = (suppressed ?? record.roles).intersection(record.roles)
        frameworks[framework]!.record!.suppressedRoles.formUnion(targets)
        for role in targets.sorted() { refreshEligibility(framework, role: role) }
    }

    /// Resumes offers to a framework for `roles` (nil: all its roles) and clears its
    /// decline filters for them.
    public mutating func revive(_ id: FrameworkID, roles revived: Set<Role>?) {
        guard let framework = frameworkIndices[id], let record = frameworks[framework]?.record else { return }
        let targets = revived ?? record.roles
        frameworks[framework]!.record!.suppressedRoles.subtract(targets)
        removeFilters(of: framework, roles: targets)
        for role in targets.intersection(record.roles).sorted() { refreshEligibility(framework, role: role) }
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
        guard let slot = agentSlots[agentID] else { return }
        var recoveredRoles: Set<Role> = []
        if let framework = frameworkIndices[frameworkID], let holding = agents[slot]!.holdings[framework] {
            var recovered = Resources()
            if !holding.byRole.isEmpty {
                var remaining = resources
                let candidates = (role.map { [$0] } ?? []) + holding.byRole.map(\.role).sorted().filter { $0 != role }
                for candidate in candidates {
                    guard let have = holding.resources(for: candidate) else { continue }
                    let piece = Self.intersection(remaining, have)
                    guard !piece.isEmpty else { continue }
                    track(piece, framework: framework, role: candidate, agent: slot, removing: true)
                    remaining -= piece
                    recovered += piece
                    recoveredRoles.insert(candidate)
                }
            } else {
                recovered = Self.intersection(resources, holding.total)
            }
            let rest = holding.total - recovered
            if rest.isEmpty {
                dropHolding(of: framework, on: slot)
            } else {
                agents[slot]!.holdings[framework]!.total = rest
            }
            agents[slot]!.free += recovered
            if rest.isEmpty { forgetUntracked(framework, on: slot) }
            refreshOfferable(slot)
        }

        guard let refuseFor, refuseFor > .zero, !resources.isEmpty,
            let framework = frameworkIndices[frameworkID], let record = frameworks[framework]?.record
        else { return }
        let filteredRoles = role.map { [$0] } ?? (recoveredRoles.isEmpty ? record.roles : recoveredRoles)
        var list = (agents[slot]!.filters[framework] ?? []).filter { $0.expiry > now }
        for filteredRole in filteredRoles.sorted() {
            list.append(OfferFilter(role: filteredRole, resources: resources, expiry: now + refuseFor))
        }
        agents[slot]!.filters[framework] = list
        frameworks[framework]!.record!.filteredAgents.insert(slot)
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
        for index in roles.indices where roles[index] != nil {
            roles[index]!.weight = weights[roles[index]!.name]
        }
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
        allocations.reserveCapacity(visitOrder.count)
        for slot in visitOrder {
            guard !roleOrder.isEmpty else { break }
            guard let agentID = slots.ids[slot] else { continue }
            while let candidate = nextAllocation(on: slot, now: now) {
                commit(candidate, on: slot)
                allocations.append(
                    Allocation(
                        frameworkID: frameworks[candidate.framework]!.id, role: roles[candidate.role]!.name,
                        agentID: agentID, resources: candidate.resources))
            }
        }
        return allocations
    }

    /// The first role, then framework, in DRF order that may take this agent's free resources.
    private mutating func nextAllocation(on slot: Int, now: Duration) -> Candidate? {
        guard let agent = agents[slot], agent.isActive, isAllocatable(agent.free) else { return nil }
        let hasReservations = agent.free.contains(where: \.isReserved)
        let hasFilters = !agent.filters.isEmpty
        for roleEntry in roleOrder {
            let role = roleEntry.key
            let offerable = hasReservations ? agent.free.allocatable(to: roleEntry.id) : agent.free
            if hasReservations, !isAllocatable(offerable) { continue }
            for entry in roles[role]!.order {
                if hasFilters, let list = agent.filters[entry.key],
                    isFiltered(entry.key, list, role: roleEntry.id, agent: slot, offering: offerable, now: now)
                {
                    continue
                }
                return Candidate(framework: entry.key, role: role, resources: offerable, takesAllFree: !hasReservations)
            }
        }
        return nil
    }

    /// Whether a live filter blocks the offer; drops expired filters on the way.
    private mutating func isFiltered(
        _ framework: Int, _ list: [OfferFilter], role: Role, agent slot: Int,
        offering resources: Resources, now: Duration
    ) -> Bool {
        var live = list
        if list.contains(where: { $0.expiry <= now }) {
            live = list.filter { $0.expiry > now }
            if live.isEmpty {
                agents[slot]!.filters[framework] = nil
                frameworks[framework]?.record?.filteredAgents.remove(slot)
            } else {
                agents[slot]!.filters[framework] = live
            }
        }
        return live.contains { $0.role == role && $0.resources.contains(resources) }
    }

    private mutating func commit(_ candidate: Candidate, on slot: Int) {
        let framework = candidate.framework, resources = candidate.resources
        let role = roles[candidate.role]!.name
        if agents[slot]!.holdings[framework] == nil {
            // The common case: a fresh holding, nothing to merge.
            agents[slot]!.holdings[framework] = Holding(
                total: resources, byRole: [RoleResources(role: role, resources: resources)])
            frameworks[framework]!.record!.heldAgents.insert(slot)
        } else {
            agents[slot]!.holdings[framework]!.total += resources
            addByRole(resources, framework: framework, role: role, agent: slot)
        }
        if candidate.takesAllFree {
            agents[slot]!.free = Resources()
        } else {
            agents[slot]!.free -= resources
        }
        refreshOfferable(slot)
        let quantities = ScalarQuantities(resources, names: &scalarNames)
        if !quantities.isEmpty { account(quantities, framework: framework, role: candidate.role, removing: false) }
    }

    // MARK: Views

    /// An agent's total resources, nil for an unknown agent.
    public func total(of agent: AgentID) -> Resources? { agentSlots[agent].flatMap { agents[$0]?.total } }

    /// An agent's resources not allocated to any framework, nil for an unknown agent.
    public func free(on agent: AgentID) -> Resources? { agentSlots[agent].flatMap { agents[$0]?.free } }

    /// What each framework holds on an agent.
    public func allocated(on agent: AgentID) -> [FrameworkID: Resources] {
        guard let slot = agentSlots[agent], let record = agents[slot] else { return [:] }
        return Dictionary(uniqueKeysWithValues: record.holdings.map { (frameworks[$0.key]!.id, $0.value.total) })
    }

    /// What a framework holds, per agent.
    public func allocated(to framework: FrameworkID) -> [AgentID: Resources] {
        guard let index = frameworkIndices[framework], let record = frameworks[index]?.record else { return [:] }
        return Dictionary(uniqueKeysWithValues: record.heldAgents.map { slot in
            (slots.ids[slot]!, agents[slot]!.holdings[index]!.sumOverRoles)
        })
    }

    /// A framework's dominant share over all its roles, against the active agents' total.
    public func dominantShare(of framework: FrameworkID) -> Double {
        guard let index = frameworkIndices[framework], let record = frameworks[index]?.record else { return 0 }
        return record.quantities.dominantShare(of: clusterTotal)
    }

    /// A role's dominant share divided by its weight: what roles are sorted by.
    public func roleShare(of role: Role) -> Double {
        let share = roleIndices[role].map { roles[$0]!.quantities.dominantShare(of: clusterTotal) } ?? 0
        return share / configuration.weights[role]
    }

    // MARK: Bookkeeping

    /// Records `resources` (capped to what is free) as held by a framework on an agent.
    private mutating func adopt(_ resources: Resources, framework frameworkID: FrameworkID, agent slot: Int) {
        guard let agent = agents[slot] else { return }
        let piece = Self.intersection(resources, agent.free)
        guard !piece.isEmpty else { return }
        let framework = frameworkIndex(creating: frameworkID)
        agents[slot]!.holdings[framework, default: Holding(total: Resources())].total += piece
        agents[slot]!.free -= piece
        if frameworks[framework]!.record != nil {
            for (role, part) in attribute(piece, to: framework) {
                track(part, framework: framework, role: role, agent: slot, removing: false)
            }
        } else {
            frameworks[framework]!.untrackedAgents.insert(slot)
        }
        refreshOfferable(slot)
    }

    /// Frees everything a framework holds on an agent.
    private mutating func release(framework: Int, agent slot: Int) {
        guard let holding = agents[slot]?.holdings[framework] else { return }
        for part in holding.byRole {
            track(part.resources, framework: framework, role: part.role, agent: slot, removing: true)
        }
        dropHolding(of: framework, on: slot)
        agents[slot]!.free += holding.total
        forgetUntracked(framework, on: slot)
        refreshOfferable(slot)
    }

    private mutating func dropHolding(of framework: Int, on slot: Int) {
        if agents[slot]!.holdings.removeValue(forKey: framework)?.byRole.isEmpty == false {
            frameworks[framework]!.record?.heldAgents.remove(slot)
        }
    }

    /// Forgets that an agent holds resources of a framework not added yet, and the
    /// framework's number once nothing refers to it.
    private mutating func forgetUntracked(_ framework: Int, on slot: Int) {
        guard frameworks[framework]?.untrackedAgents.remove(slot) != nil else { return }
        releaseFrameworkIndexIfUnused(framework)
    }

    /// Adds or removes a framework's allocation for a role on an agent in its per-role
    /// books, and moves the framework and the role to their new places in DRF order.
    private mutating func track(
        _ resources: Resources, framework: Int, role: Role, agent slot: Int, removing: Bool
    ) {
        guard !resources.isEmpty, frameworks[framework]?.record != nil else { return }
        if removing {
            let byRole = agents[slot]!.holdings[framework]!.byRole
            if let position = byRole.firstIndex(where: { $0.role == role }) {
                let rest = byRole[position].resources - resources
                if rest.isEmpty {
                    agents[slot]!.holdings[framework]!.byRole.remove(at: position)
                    if byRole.count == 1 { frameworks[framework]!.record!.heldAgents.remove(slot) }
                } else {
                    agents[slot]!.holdings[framework]!.byRole[position].resources = rest
                }
            }
        } else {
            addByRole(resources, framework: framework, role: role, agent: slot)
        }
        let quantities = ScalarQuantities(resources, names: &scalarNames)
        guard !quantities.isEmpty else { return }
        account(quantities, framework: framework, role: roleIndex(creating: role), removing: removing)
    }

    /// Adds to a framework's per-role books on an agent whose holding exists.
    private mutating func addByRole(_ resources: Resources, framework: Int, role: Role, agent slot: Int) {
        let byRole = agents[slot]!.holdings[framework]!.byRole
        if let position = byRole.firstIndex(where: { $0.role == role }) {
            agents[slot]!.holdings[framework]!.byRole[position].resources += resources
        } else {
            agents[slot]!.holdings[framework]!.byRole.append(RoleResources(role: role, resources: resources))
            if byRole.isEmpty { frameworks[framework]!.record!.heldAgents.insert(slot) }
        }
    }

    /// Adds or removes non-empty allocated quantities of a framework for a role, and
    /// moves both in DRF order.
    private mutating func account(_ quantities: ScalarQuantities, framework: Int, role: Int, removing: Bool) {
        let held = frameworks[framework]!.record!.roleQuantities
        let position = held.firstIndex { $0.role == role }
        if removing {
            frameworks[framework]!.record!.quantities -= quantities
            roles[role]!.quantities -= quantities
            if let position {
                frameworks[framework]!.record!.roleQuantities[position].quantities -= quantities
                if frameworks[framework]!.record!.roleQuantities[position].quantities.isEmpty {
                    frameworks[framework]!.record!.roleQuantities.remove(at: position)
                    roles[role]!.allocatedFrameworkCount -= 1
                }
            } else {
                var negative = ScalarQuantities()
                negative -= quantities
                frameworks[framework]!.record!.roleQuantities.append((role, negative))
                roles[role]!.allocatedFrameworkCount += 1
            }
        } else {
            frameworks[framework]!.record!.quantities += quantities
            roles[role]!.quantities += quantities
            if let position {
                frameworks[framework]!.record!.roleQuantities[position].quantities += quantities
            } else {
                frameworks[framework]!.record!.roleQuantities.append((role, quantities))
                roles[role]!.allocatedFrameworkCount += 1
            }
        }
        let share = frameworkShare(framework, in: role)
        roles[role]!.order.update(framework, share: share)
        refreshRoleOrder(role)
    }

    private mutating func updateRoles(of framework: Int, to newRoles: Set<Role>) {
        guard let old = frameworks[framework]?.record?.roles else { return }
        frameworks[framework]!.record!.roles = newRoles
        frameworks[framework]!.record!.suppressedRoles.formIntersection(newRoles)
        let dropped = old.subtracting(newRoles)
        removeFilters(of: framework, roles: dropped)
        for role in dropped.sorted() {
            if let index = roleIndices[role] { roles[index]!.subscribers.remove(framework) }
            refreshEligibility(framework, role: role)
        }
        for role in newRoles.subtracting(old).sorted() {
            roles[roleIndex(creating: role)]!.subscribers.insert(framework)
            refreshEligibility(framework, role: role)
        }
    }

    /// Puts a framework into, or takes it out of, a role's order according to whether
    /// it may be offered resources for that role.
    private mutating func refreshEligibility(_ framework: Int, role: Role) {
        let isEligible = frameworks[framework]?.record.map {
            $0.isActive && $0.roles.contains(role) && !$0.suppressedRoles.contains(role)
        } ?? false
        if isEligible {
            let index = roleIndex(creating: role)
            let share = frameworkShare(framework, in: index)
            roles[index]!.order.set(framework, id: frameworks[framework]!.id, share: share)
            refreshRoleOrder(index)
        } else if let index = roleIndices[role] {
            roles[index]!.order.remove(framework)
            refreshRoleOrder(index)
        }
    }

    /// Moves a role in the role order, or takes it out when no framework may take offers
    /// for it; forgets roles with neither frameworks nor allocations.
    private mutating func refreshRoleOrder(_ role: Int) {
        guard roles[role] != nil else { return }
        if roles[role]!.order.isEmpty {
            roleOrder.remove(role)
            if roles[role]!.subscribers.isEmpty, roles[role]!.allocatedFrameworkCount == 0 {
                roleIndices[roles[role]!.name] = nil
                roles[role] = nil
                vacantRoleIndices.append(role)
            }
        } else {
            let share = roles[role]!.quantities.dominantShare(of: clusterTotal) / roles[role]!.weight
            roleOrder.set(role, id: roles[role]!.name, share: share)
        }
    }

    /// Recomputes every cached share after the cluster total or the weights changed.
    private mutating func resort() {
        sharesAreStale = false
        let total = clusterTotal
        let frameworks = self.frameworks
        for role in roles.indices where roles[role] != nil {
            roles[role]!.order.rebuild { frameworks[$0]?.record?.quantities(in: role)?.dominantShare(of: total) ?? 0 }
        }
        let current = roles
        roleOrder.rebuild { role in
            (current[role]?.quantities.dominantShare(of: total) ?? 0) / (current[role]?.weight ?? 1)
        }
    }

    private func frameworkShare(_ framework: Int, in role: Int) -> Double {
        guard frameworks[framework]?.record != nil else { return 0 }
        return frameworks[framework]!.record!.quantities(in: role)?.dominantShare(of: clusterTotal) ?? 0
    }

    private mutating func refreshOfferable(_ slot: Int) {
        guard let agent = agents[slot] else { return }
        if agent.isActive, isAllocatable(agent.free) {
            slots.mark(slot)
        } else {
            slots.unmark(slot)
        }
    }

    /// Whether `resources` hold at least one minimum-allocatable alternative, comparing
    /// by name whatever the reservation.
    private func isAllocatable(_ resources: Resources) -> Bool {
        guard !resources.isEmpty else { return false }
        guard !minimumAlternatives.isEmpty else { return true }
        return minimumAlternatives.contains { Self.flattenedContains(resources, $0) }
    }

    /// `resources.flattened().contains(flat)` for a flattened `flat`, without building
    /// the flattened copy: each needed entry against the sum, over all roles, of the
    /// entries of the same name and kind.
    private static func flattenedContains(_ resources: Resources, _ flat: Resources) -> Bool {
        flat.allSatisfy { needed in
            switch needed.value {
            case .scalar(let want):
                var have = Scalar.zero
                var found = false
                for resource in resources where resource.name == needed.name {
                    if case .scalar(let amount) = resource.value {
                        have = have + amount
                        found = true
                    }
                }
                return found && have >= want
            case .ranges, .set:
                let same = Resources(resources.filter { $0.name == needed.name }).flattened()
                return same.contains(Resources([needed]))
            }
        }
    }

    /// Which role untagged resources (reported by an agent or a re-registering
    /// framework) were allocated for: a reservation's role, or the framework's first role.
    private func attribute(_ resources: Resources, to framework: Int) -> [Role: Resources] {
        let subscribed = (frameworks[framework]?.record?.roles ?? []).sorted()
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
    private mutating func removeFilters(of framework: Int, roles filteredRoles: Set<Role>?) {
        guard let filtered = frameworks[framework]?.record?.filteredAgents, !filtered.isEmpty else { return }
        for slot in filtered {
            let rest = filteredRoles.map { dropped in
                (agents[slot]?.filters[framework] ?? []).filter { !dropped.contains($0.role) }
            } ?? []
            if rest.isEmpty {
                agents[slot]?.filters[framework] = nil
                frameworks[framework]!.record!.filteredAgents.remove(slot)
            } else {
                agents[slot]?.filters[framework] = rest
            }
        }
    }

    // MARK: Numbering

    private mutating func frameworkIndex(creating id: FrameworkID) -> Int {
        if let index = frameworkIndices[id] { return index }
        let entry = FrameworkSlot(id: id)
        let index: Int
        if let vacant = vacantFrameworkIndices.popLast() {
            index = vacant
            frameworks[index] = entry
        } else {
            index = frameworks.count
            frameworks.append(entry)
        }
        frameworkIndices[id] = index
        return index
    }

    /// Frees a framework's number when it is neither added nor holding anything.
    private mutating func releaseFrameworkIndexIfUnused(_ index: Int) {
        guard let entry = frameworks[index], entry.record == nil, entry.untrackedAgents.isEmpty else { return }
        frameworks[index] = nil
        frameworkIndices[entry.id] = nil
        vacantFrameworkIndices.append(index)
    }

    private mutating func roleIndex(creating role: Role) -> Int {
        if let index = roleIndices[role] { return index }
        let record = RoleRecord(name: role, weight: configuration.weights[role])
        let index: Int
        if let vacant = vacantRoleIndices.popLast() {
            index = vacant
            roles[index] = record
        } else {
            index = roles.count
            roles.append(record)
        }
        roleIndices[role] = index
        return index
    }

    private func sortedByID(frameworks indices: some Sequence<Int>) -> [Int] {
        indices.sorted { frameworks[$0]!.id < frameworks[$1]!.id }
    }

    private func sortedByID(agents indices: some Sequence<Int>) -> [Int] {
        indices.sorted { slots.ids[$0]! < slots.ids[$1]! }
    }

    /// What `a` and `b` have in common (for scalars, the smaller amount).
    private static func intersection(_ a: Resources, _ b: Resources) -> Resources {
        a - (a - b)
    }
}
