import Master
import PropertyBased
import Resources
import Testing

private let agentIDs = (0..<6).map { "a\($0)" }
private let frameworkIDs = (0..<6).map { "f\($0)" }
private let roleNames = ["r0", "r1", "r2"]

/// Agent `index`'s resources: varied sizes, a reservation for `r1` on even agents, ports.
private func agentTotal(_ index: Int) -> Resources {
    var entries = [
        Resource(name: "cpus", value: .scalar(Scalar(Double(index + 1) / 2))),
        Resource(name: "mem", value: .scalar(Scalar(Double(256 * (index + 1))))),
        Resource(name: "ports", value: .ranges(RangeSet([31_000...UInt64(31_000 + 3 * index)]))),
    ]
    if index.isMultiple(of: 2) {
        entries.append(Resource(name: "cpus", role: "r1", value: .scalar(Scalar(1))))
    }
    return Resources(entries)
}

/// The roles whose bit is set in `bits`.
private func roles(_ bits: Int) -> Set<Role> {
    Set(roleNames.indices.filter { bits & (1 << $0) != 0 }.map { roleNames[$0] })
}

/// Random scenarios: steps of an operation code and three parameters.
private let scenarioGenerator = zip(Gen.int(in: 0...16), Gen.int(in: 0...5), Gen.int(in: 0...7), Gen.int(in: 0...9))
    .array(of: 1...80)

/// What the test knows independently of the allocator: who exists and may be offered what.
private struct Model {
    var agents: [AgentID: (total: Resources, isActive: Bool)] = [:]
    var frameworks: [FrameworkID: (roles: Set<Role>, suppressed: Set<Role>, isActive: Bool)] = [:]
}

private func portCount(_ resources: Resources) -> UInt64 { resources.ports.count }

struct AllocatorPropertyTests {
    @Test func randomOperationsNeverAllocateAnythingTwice() async {
        await propertyCheck(count: 200, input: scenarioGenerator, Gen.uint64(in: 0...UInt64.max)) { steps, seed in
            var allocator = Allocator(configuration: AllocatorConfiguration(agentShuffleSeed: seed))
            var model = Model()
            var now = Duration.zero
            for (operation, x, y, z) in steps {
                now += .seconds(1)
                let agentID = agentIDs[x], frameworkID = frameworkIDs[x]
                switch operation {
                case 0...3:
                    let before = Dictionary(uniqueKeysWithValues: model.agents.keys.map { ($0, allocator.free(on: $0)) })
                    let allocations = allocator.allocate(now: now)
                    var given: [AgentID: Resources] = [:]
                    for allocation in allocations {
                        #expect(!allocation.resources.isEmpty)
                        #expect(model.agents[allocation.agentID]?.isActive == true, "offered an inactive or unknown agent")
                        let framework = model.frameworks[allocation.frameworkID]
                        #expect(framework?.isActive == true, "offered to an inactive or unknown framework")
                        #expect(framework?.roles.contains(allocation.role) == true, "offered for a role not subscribed")
                        #expect(framework?.suppressed.contains(allocation.role) == false, "offered for a suppressed role")
                        #expect(allocation.resources.allocatable(to: allocation.role) == allocation.resources,
                                "offered another role's reservation")
                        #expect(portCount(given[allocation.agentID] ?? Resources()) + portCount(allocation.resources)
                                == portCount((given[allocation.agentID] ?? Resources()) + allocation.resources),
                                "the same port offered twice")
                        given[allocation.agentID, default: Resources()] += allocation.resources
                    }
                    for (agent, resources) in given {
                        #expect((before[agent] ?? nil)?.contains(resources) == true, "offered more than was free")
                    }
                case 4:
                    var allocated: [FrameworkID: Resources] = [:]
                    if z > 4 { allocated[frameworkIDs[y % frameworkIDs.count]] = agentTotal(z) }
                    allocator.addAgent(agentID, total: agentTotal(y), allocated: allocated)
                    model.agents[agentID] = (agentTotal(y), true)
                case 5:
                    allocator.removeAgent(agentID)
                    model.agents[agentID] = nil
                case 6:
                    allocator.deactivateAgent(agentID)
                    model.agents[agentID]?.isActive = false
                case 7:
                    allocator.activateAgent(agentID)
                    model.agents[agentID]?.isActive = true
                case 8:
                    let used = z > 6 ? [agentIDs[y % agentIDs.count]: agentTotal(z - 6)] : [:]
                    allocator.addFramework(frameworkID, roles: roles(y), suppressedRoles: roles(z), allocated: used)
                    model.frameworks[frameworkID] = (roles(y), roles(z).intersection(roles(y)), true)
                case 9:
                    allocator.removeFramework(frameworkID)
                    model.frameworks[frameworkID] = nil
                case 10:
                    allocator.deactivateFramework(frameworkID)
                    model.frameworks[frameworkID]?.isActive = false
                case 11:
                    allocator.activateFramework(frameworkID)
                    model.frameworks[frameworkID]?.isActive = true
                case 12:
                    allocator.updateFrameworkRoles(frameworkID, roles: roles(y))
                    if var framework = model.frameworks[frameworkID] {
                        framework.roles = roles(y)
                        framework.suppressed.formIntersection(framework.roles)
                        model.frameworks[frameworkID] = framework
                    }
                case 13:
                    let targets = z == 0 ? nil : roles(y)
                    if z.isMultiple(of: 2) {
                        allocator.suppress(frameworkID, roles: targets)
                        if var framework = model.frameworks[frameworkID] {
                            framework.suppressed.formUnion((targets ?? framework.roles).intersection(framework.roles))
                            model.frameworks[frameworkID] = framework
                        }
                    } else {
                        allocator.revive(frameworkID, roles: targets)
                        model.frameworks[frameworkID]?.suppressed.subtract(targets ?? Set(roleNames))
                    }
                case 14, 15:
                    // Give back all or a slice of what a framework holds on an agent, or more
                    // than it holds (only what it holds is freed).
                    let agent = agentIDs[y % agentIDs.count]
                    let held = allocator.allocated(on: agent)[frameworkID] ?? Resources()
                    let slice = switch z {
                    case 0..<5: held
                    case 5..<8: held.filter { $0.name == "cpus" || $0.name == "ports" }
                    default: agentTotal(y)
                    }
                    let refuse: Duration? = z.isMultiple(of: 3) ? nil : .seconds(z)
                    let role = operation == 15 ? roleNames[z % roleNames.count] : nil
                    allocator.recover(slice, agent: agent, framework: frameworkID, role: role, refuseFor: refuse, now: now)
                default:
                    allocator.updateWeights(RoleWeights([roleNames[y % roleNames.count]: Double(z + 1)]))
                }
                checkBooks(allocator, model)
            }
        }
    }

    @Test func greedyFrameworksInWeightedRolesGetSharesProportionalToTheWeights() async {
        let setup = zip(
            Gen.int(in: 1...4),  // gold weight
            Gen.int(in: 1...4),  // silver weight
            Gen.int(in: 1...3),  // frameworks per role
            Gen.int(in: 1...4).array(of: 10...120),  // agent sizes
            Gen.int(in: 1...4)  // batches the agents arrive in
        )
        await propertyCheck(count: 100, input: setup, Gen.uint64(in: 0...UInt64.max)) { parameters, seed in
            let (goldWeight, silverWeight, perRole, sizes, batches) = parameters
            var allocator = Allocator(configuration: AllocatorConfiguration(
                weights: RoleWeights(["gold": Double(goldWeight), "silver": Double(silverWeight)]),
                agentShuffleSeed: seed))
            for index in 0..<perRole {
                allocator.addFramework("gold-\(index)", roles: ["gold"])
                allocator.addFramework("silver-\(index)", roles: ["silver"])
            }
            // cpus and memory in the same proportion on every agent, so dominant shares add up.
            var units: [Role: Int] = [:]
            var frameworkUnits: [FrameworkID: Int] = [:]
            let batchSize = (sizes.count + batches - 1) / batches
            for (batch, start) in stride(from: 0, to: sizes.count, by: batchSize).enumerated() {
                for index in start..<min(start + batchSize, sizes.count) {
                    let size = sizes[index]
                    allocator.addAgent("a\(index)", total: Resources([
                        Resource(name: "cpus", value: .scalar(Scalar(Double(size)))),
                        Resource(name: "mem", value: .scalar(Scalar(Double(1_024 * size)))),
                    ]))
                }
                for allocation in allocator.allocate(now: .seconds(batch)) {
                    units[allocation.role, default: 0] += Int(allocation.resources.cpus.thousandths / 1_000)
                    frameworkUnits[allocation.frameworkID, default: 0] += Int(allocation.resources.cpus.thousandths / 1_000)
                }
            }
            #expect(allocator.allocate(now: .seconds(batches + 1)).isEmpty, "everything was kept")

            // Greedy DRF keeps weighted shares within one agent of each other.
            let total = Double(sizes.reduce(0, +))
            let tolerance = Double(sizes.max() ?? 0) / total / Double(min(goldWeight, silverWeight)) + 1e-9
            let gold = Double(units["gold", default: 0]) / total, silver = Double(units["silver", default: 0]) / total
            #expect(abs(gold / Double(goldWeight) - silver / Double(silverWeight)) <= tolerance)
            #expect(abs(allocator.roleShare(of: "gold") - gold / Double(goldWeight)) < 1e-9)
            #expect(abs(allocator.roleShare(of: "silver") - silver / Double(silverWeight)) < 1e-9)
            #expect(abs(allocator.roleShare(of: "gold") - allocator.roleShare(of: "silver")) <= tolerance)
            // Within a role, frameworks are within one agent of each other too.
            for role in ["gold", "silver"] {
                let held = (0..<perRole).map { frameworkUnits["\(role)-\($0)", default: 0] }
                #expect((held.max() ?? 0) - (held.min() ?? 0) <= (sizes.max() ?? 0))
            }
        }
    }
}

/// The allocator's books agree with themselves and with what the test knows: per agent,
/// free plus everything allocated is the total, with no port counted twice; each
/// framework's view matches the agents' views; shares match a recomputation.
private func checkBooks(_ allocator: Allocator, _ model: Model, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(allocator.agentCount == model.agents.count, sourceLocation: sourceLocation)
    #expect(allocator.frameworkCount == model.frameworks.count, sourceLocation: sourceLocation)
    var clusterTotal: [String: Scalar] = [:]
    var byFramework: [FrameworkID: [AgentID: Resources]] = [:]
    for (agentID, agent) in model.agents {
        #expect(allocator.total(of: agentID) == agent.total, sourceLocation: sourceLocation)
        guard let free = allocator.free(on: agentID) else {
            Issue.record("agent \(agentID) unknown to the allocator", sourceLocation: sourceLocation)
            continue
        }
        let allocated = allocator.allocated(on: agentID)
        var sum = Resources()
        var ports = portCount(free)
        for (frameworkID, resources) in allocated {
            #expect(!resources.isEmpty, sourceLocation: sourceLocation)
            sum += resources
            ports += portCount(resources)
            byFramework[frameworkID, default: [:]][agentID] = resources
        }
        #expect(free + sum == agent.total, "free + allocated != total on \(agentID)", sourceLocation: sourceLocation)
        #expect(agent.total.contains(sum), sourceLocation: sourceLocation)
        #expect(ports == portCount(agent.total), "a port is both free and allocated, or allocated twice", sourceLocation: sourceLocation)
        if agent.isActive {
            for (name, amount) in agent.total.scalarTotals { clusterTotal[name, default: .zero] += amount }
        }
    }
    for frameworkID in frameworkIDs {
        let known = model.frameworks[frameworkID] != nil
        let held = known ? allocator.allocated(to: frameworkID) : [:]
        if known {
            #expect(held == byFramework[frameworkID] ?? [:], "\(frameworkID)'s books disagree with the agents'", sourceLocation: sourceLocation)
        }
        var share = 0.0
        for (name, amount) in held.values.reduce(Resources(), +).scalarTotals {
            guard let total = clusterTotal[name], total > .zero else { continue }
            share = max(share, Double(amount.thousandths) / Double(total.thousandths))
        }
        #expect(abs(allocator.dominantShare(of: frameworkID) - share) < 1e-9, sourceLocation: sourceLocation)
    }
}
