import Master
import Resources
import Testing

private func bag(_ text: String) -> Resources {
    // Test literals are known to parse.
    try! Resources(parsing: text)
}

private func allocator(weights: [String: Double] = [:], minimum: [Resources]? = nil) -> Allocator {
    var configuration = AllocatorConfiguration(weights: RoleWeights(weights))
    if let minimum { configuration.minimumAllocatable = minimum }
    return Allocator(configuration: configuration)
}

/// How many allocations each framework received.
private func counts(_ allocations: [Allocation]) -> [FrameworkID: Int] {
    allocations.reduce(into: [:]) { $0[$1.frameworkID, default: 0] += 1 }
}

struct AllocatorTests {
    @Test func aSingleFrameworkIsOfferedTheWholeAgent() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024;ports:[31000-31010]"))
        allocator.addFramework("f1", roles: ["web"])

        let allocations = allocator.allocate(now: .seconds(1))

        #expect(allocations == [
            Allocation(frameworkID: "f1", role: "web", agentID: "a1", resources: bag("cpus:4;mem:1024;ports:[31000-31010]")),
        ])
        #expect(allocator.free(on: "a1") == Resources())
        #expect(allocator.allocated(on: "a1") == ["f1": bag("cpus:4;mem:1024;ports:[31000-31010]")])
        #expect(allocator.dominantShare(of: "f1") == 1)
        #expect(allocator.allocate(now: .seconds(2)).isEmpty, "nothing is offered twice")
    }

    @Test func twoFrameworksInOneRoleAlternateByDominantShare() {
        var allocator = allocator()
        for index in 1...4 { allocator.addAgent("a\(index)", total: bag("cpus:2;mem:1024")) }
        allocator.addFramework("f1", roles: ["r"])
        allocator.addFramework("f2", roles: ["r"])

        let allocations = allocator.allocate(now: .zero)

        #expect(allocations.map(\.frameworkID) == ["f1", "f2", "f1", "f2"])
        #expect(allocator.dominantShare(of: "f1") == 0.5)
        #expect(allocator.dominantShare(of: "f2") == 0.5)
    }

    @Test func theFrameworkWithTheSmallerShareGoesFirstWhateverItsID() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:4096"))
        allocator.addFramework("f1", roles: ["r"])
        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["f1"])

        allocator.addFramework("f2", roles: ["r"])
        allocator.addAgent("a2", total: bag("cpus:1;mem:512"))
        allocator.addAgent("a3", total: bag("cpus:1;mem:512"))

        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["f2", "f2"])
    }

    @Test func theDominantResourceDecidesTheOrder() {
        // cpu-heavy holds 25.1% of the cpus, mem-heavy 25% of the memory (and 20% of the
        // cpus): mem-heavy has the smaller dominant share, although it holds more in
        // total and sorts after cpu-heavy by ID.
        var allocator = allocator()
        allocator.addAgent("cpu-box", total: bag("cpus:1;mem:256"))
        allocator.addAgent("mem-box", total: bag("cpus:1;mem:768"))
        allocator.addFramework("cpu-heavy", roles: ["r"])
        allocator.addFramework("mem-heavy", roles: ["r"])
        allocator.addUsed(bag("cpus:0.502;mem:64"), agent: "cpu-box", framework: "cpu-heavy")
        allocator.addUsed(bag("cpus:0.4;mem:256"), agent: "mem-box", framework: "mem-heavy")
        #expect(abs(allocator.dominantShare(of: "cpu-heavy") - 0.251) < 1e-12)
        #expect(allocator.dominantShare(of: "mem-heavy") == 0.25)

        #expect(allocator.allocate(now: .zero).first?.frameworkID == "mem-heavy")
    }

    @Test func rolesWithWeightsTwoToOneGetTwoToOne() {
        var allocator = allocator(weights: ["gold": 2, "silver": 1])
        for index in 1...9 { allocator.addAgent("a\(index)", total: bag("cpus:1;mem:1024")) }
        allocator.addFramework("g", roles: ["gold"])
        allocator.addFramework("s", roles: ["silver"])

        let allocations = allocator.allocate(now: .zero)

        #expect(counts(allocations) == ["g": 6, "s": 3])
        #expect(allocations.allSatisfy { $0.role == ($0.frameworkID == "g" ? "gold" : "silver") })
        #expect(abs(allocator.roleShare(of: "gold") - 6.0 / 9 / 2) < 1e-12)
        #expect(abs(allocator.roleShare(of: "silver") - 3.0 / 9) < 1e-12)
    }

    @Test func updatingWeightsReordersRoles() {
        var allocator = allocator()
        allocator.addFramework("g", roles: ["gold"])
        allocator.addFramework("s", roles: ["silver"])
        allocator.addAgent("a1", total: bag("cpus:1;mem:1024"))
        allocator.addAgent("a2", total: bag("cpus:1;mem:1024"))
        #expect(counts(allocator.allocate(now: .zero)) == ["g": 1, "s": 1])

        allocator.updateWeights(RoleWeights(["silver": 4]))
        allocator.addAgent("a3", total: bag("cpus:1;mem:1024"))

        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["s"])
    }

    @Test func reservedResourcesGoOnlyToTheirRole() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:2;mem:512;cpus(ops):2;mem(ops):512"))
        allocator.addFramework("dev-fw", roles: ["dev"])

        #expect(allocator.allocate(now: .zero) == [
            Allocation(frameworkID: "dev-fw", role: "dev", agentID: "a1", resources: bag("cpus:2;mem:512")),
        ])
        #expect(allocator.allocate(now: .zero).isEmpty, "the ops reservation is not offered to dev")
        #expect(allocator.free(on: "a1") == bag("cpus(ops):2;mem(ops):512"))

        allocator.addFramework("ops-fw", roles: ["ops"])
        #expect(allocator.allocate(now: .zero) == [
            Allocation(frameworkID: "ops-fw", role: "ops", agentID: "a1", resources: bag("cpus(ops):2;mem(ops):512")),
        ])
    }

    @Test func aRoleIsOfferedItsReservationAndTheUnreservedRestTogether() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:2;mem:512;cpus(ops):2"))
        allocator.addFramework("ops-fw", roles: ["ops"])

        #expect(allocator.allocate(now: .zero).map(\.resources) == [bag("cpus:2;mem:512;cpus(ops):2")])
    }

    @Test func aDeclineFilterHoldsTheAgentBackUntilItExpires() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        let offered = allocator.allocate(now: .seconds(1))
        #expect(offered.count == 1)

        allocator.recover(bag("cpus:4;mem:1024"), agent: "a1", framework: "f1", refuseFor: .seconds(10), now: .seconds(1))

        #expect(allocator.free(on: "a1") == bag("cpus:4;mem:1024"))
        #expect(allocator.allocate(now: .seconds(2)).isEmpty)
        #expect(allocator.allocate(now: .milliseconds(10_999)).isEmpty)
        #expect(allocator.allocate(now: .seconds(11)).map(\.frameworkID) == ["f1"])
    }

    @Test func aDeclineUsesTheDefaultRefuseTime() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)

        allocator.decline(bag("cpus:4;mem:1024"), agent: "a1", framework: "f1", now: .zero)

        #expect(allocator.allocate(now: .seconds(4)).isEmpty)
        #expect(allocator.allocate(now: .seconds(5)).count == 1)
    }

    @Test func aFilteredAgentGoesToTheNextFramework() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        allocator.addFramework("f2", roles: ["r"])
        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["f1"])

        allocator.recover(bag("cpus:4;mem:1024"), agent: "a1", framework: "f1", refuseFor: .seconds(60), now: .zero)

        #expect(allocator.allocate(now: .seconds(1)).map(\.frameworkID) == ["f2"])
    }

    @Test func aFilterDoesNotBlockADifferentAgent() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addAgent("a2", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        #expect(allocator.allocate(now: .zero).count == 2)

        allocator.recover(bag("cpus:4;mem:1024"), agent: "a1", framework: "f1", refuseFor: .seconds(60), now: .zero)
        allocator.recover(bag("cpus:4;mem:1024"), agent: "a2", framework: "f1", refuseFor: nil, now: .zero)

        #expect(allocator.allocate(now: .seconds(1)).map(\.agentID) == ["a2"])
    }

    @Test func aFilterDoesNotBlockMoreThanWasDeclined() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)

        allocator.recover(bag("cpus:1;mem:256"), agent: "a1", framework: "f1", refuseFor: .seconds(60), now: .zero)
        #expect(allocator.allocate(now: .seconds(1)).isEmpty)

        // A task finished: more is free than was declined, so the filter no longer matches.
        allocator.recover(bag("cpus:1"), agent: "a1", framework: "f1", refuseFor: nil, now: .seconds(1))
        #expect(allocator.allocate(now: .seconds(2)).map(\.resources) == [bag("cpus:2;mem:256")])
    }

    @Test func reviveClearsFilters() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)
        allocator.recover(bag("cpus:4;mem:1024"), agent: "a1", framework: "f1", refuseFor: .seconds(3_600), now: .zero)
        #expect(allocator.allocate(now: .seconds(1)).isEmpty)

        allocator.revive("f1", roles: nil)

        #expect(allocator.allocate(now: .seconds(2)).map(\.frameworkID) == ["f1"])
    }

    @Test func suppressStopsOffersForThatRoleOnly() {
        var allocator = allocator()
        allocator.addFramework("f1", roles: ["a", "b"])
        allocator.suppress("f1", roles: ["a"])
        allocator.addAgent("x1", total: bag("cpus:1;mem:128"))
        allocator.addAgent("x2", total: bag("cpus:1;mem:128"))

        let allocations = allocator.allocate(now: .zero)
        #expect(allocations.map(\.role) == ["b", "b"])

        for allocation in allocations {
            allocator.recover(allocation.resources, agent: allocation.agentID, framework: "f1", refuseFor: nil, now: .zero)
        }
        allocator.suppress("f1", roles: nil)
        #expect(allocator.allocate(now: .zero).isEmpty)

        allocator.revive("f1", roles: ["a"])
        #expect(allocator.allocate(now: .zero).map(\.role) == ["a", "a"])
    }

    @Test func aFrameworkAddedSuppressedGetsNothingUntilRevived() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:1;mem:128"))
        allocator.addFramework("f1", roles: ["r"], suppressedRoles: ["r"])
        #expect(allocator.allocate(now: .zero).isEmpty)

        allocator.revive("f1", roles: ["r"])
        #expect(allocator.allocate(now: .zero).count == 1)
    }

    @Test func aDeactivatedAgentIsNotOffered() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:1;mem:128"))
        allocator.addAgent("a2", total: bag("cpus:1;mem:128"))
        allocator.addFramework("f1", roles: ["r"])
        allocator.deactivateAgent("a1")

        #expect(allocator.allocate(now: .zero).map(\.agentID) == ["a2"])
        #expect(allocator.dominantShare(of: "f1") == 1, "only active agents count in the cluster total")

        allocator.activateAgent("a1")
        #expect(allocator.allocate(now: .zero).map(\.agentID) == ["a1"])
        #expect(allocator.dominantShare(of: "f1") == 1)
    }

    @Test func aDeactivatedFrameworkReceivesNothingButKeepsItsAllocations() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:1;mem:128"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)
        allocator.addAgent("a2", total: bag("cpus:1;mem:128"))

        allocator.deactivateFramework("f1")

        #expect(allocator.allocate(now: .zero).isEmpty)
        #expect(allocator.allocated(on: "a1") == ["f1": bag("cpus:1;mem:128")])

        allocator.addFramework("f2", roles: ["r"])
        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["f2"])

        allocator.activateFramework("f1")
        allocator.addAgent("a3", total: bag("cpus:1;mem:128"))
        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["f1"])
    }

    @Test func removingAFrameworkFreesItsAllocations() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:2;mem:256"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)

        allocator.removeFramework("f1")

        #expect(allocator.frameworkCount == 0)
        #expect(allocator.free(on: "a1") == bag("cpus:2;mem:256"))
        #expect(allocator.allocated(on: "a1").isEmpty)
        #expect(allocator.roleShare(of: "r") == 0)
        allocator.addFramework("f2", roles: ["r"])
        #expect(allocator.allocate(now: .zero).map(\.frameworkID) == ["f2"])
    }

    @Test func removingAnAgentDropsItsAllocations() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:2;mem:256"))
        allocator.addAgent("a2", total: bag("cpus:2;mem:256"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)

        allocator.removeAgent("a1")

        #expect(allocator.agentCount == 1)
        #expect(allocator.total(of: "a1") == nil)
        #expect(allocator.allocated(to: "f1") == ["a2": bag("cpus:2;mem:256")])
        #expect(allocator.dominantShare(of: "f1") == 1)
    }

    @Test(arguments: [
        ("cpus:0.005;mem:16", false),
        ("cpus:0.01", true),
        ("mem:32", true),
        ("cpus:0.009;mem:31", false),
        ("ports:[31000-32000]", false),
    ])
    func onlyAgentsWithTheMinimumAllocatableAreOffered(free: String, isOffered: Bool) {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag(free))
        allocator.addFramework("f1", roles: ["r"])

        #expect(allocator.allocate(now: .zero).count == (isOffered ? 1 : 0))
    }

    @Test func theMinimumAppliesToWhatEachRoleMayTake() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:0.005;cpus(ops):1;mem(ops):64"))
        allocator.addFramework("dev-fw", roles: ["dev"])
        allocator.addFramework("ops-fw", roles: ["ops"])

        #expect(allocator.allocate(now: .zero) == [
            Allocation(frameworkID: "ops-fw", role: "ops", agentID: "a1", resources: bag("cpus:0.005;cpus(ops):1;mem(ops):64")),
        ])
    }

    @Test func theMinimumAllocatableIsConfigurable() {
        var allocator = allocator(minimum: [bag("cpus:1;mem:64")])
        allocator.addAgent("small", total: bag("cpus:0.5;mem:4096"))
        allocator.addAgent("big", total: bag("cpus:1;mem:64"))
        allocator.addFramework("f1", roles: ["r"])

        #expect(allocator.allocate(now: .zero).map(\.agentID) == ["big"])
    }

    @Test func aLeftoverBelowTheMinimumIsNotOffered() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)

        allocator.recover(bag("cpus:0.005;mem:8"), agent: "a1", framework: "f1", refuseFor: nil, now: .zero)
        #expect(allocator.allocate(now: .zero).isEmpty)

        allocator.recover(bag("mem:24"), agent: "a1", framework: "f1", refuseFor: nil, now: .zero)
        #expect(allocator.allocate(now: .zero).map(\.resources) == [bag("cpus:0.005;mem:32")])
    }

    @Test func recoveringMakesResourcesFreeAgain() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024;ports:[31000-31009]"))
        allocator.addFramework("f1", roles: ["r"])
        _ = allocator.allocate(now: .zero)

        allocator.recover(bag("cpus:1;mem:256;ports:[31000-31004]"), agent: "a1", framework: "f1", refuseFor: nil, now: .zero)

        #expect(allocator.free(on: "a1") == bag("cpus:1;mem:256;ports:[31000-31004]"))
        #expect(allocator.allocated(on: "a1") == ["f1": bag("cpus:3;mem:768;ports:[31005-31009]")])
        #expect(allocator.dominantShare(of: "f1") == 0.75)
        #expect(allocator.allocate(now: .zero).map(\.resources) == [bag("cpus:1;mem:256;ports:[31000-31004]")])
    }

    @Test func recoveringMoreThanIsHeldFreesOnlyWhatIsHeld() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"))
        allocator.addFramework("f1", roles: ["r"])
        allocator.addFramework("f2", roles: ["r"])
        allocator.addUsed(bag("cpus:1;mem:256"), agent: "a1", framework: "f1")
        allocator.addUsed(bag("cpus:1;mem:256"), agent: "a1", framework: "f2")

        allocator.recover(bag("cpus:4;mem:1024"), agent: "a1", framework: "f1", refuseFor: nil, now: .zero)

        #expect(allocator.free(on: "a1") == bag("cpus:3;mem:768"))
        #expect(allocator.allocated(on: "a1") == ["f2": bag("cpus:1;mem:256")])
    }

    @Test func resourcesInUseOnARegisteringAgentAreNotOffered() {
        var allocator = allocator()
        allocator.addFramework("f1", roles: ["r"])
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"), allocated: ["f1": bag("cpus:3;mem:256")])

        #expect(allocator.free(on: "a1") == bag("cpus:1;mem:768"))
        #expect(allocator.dominantShare(of: "f1") == 0.75)
        #expect(allocator.allocate(now: .zero).map(\.resources) == [bag("cpus:1;mem:768")])
    }

    @Test func anAgentsReportForAFrameworkNotYetAddedCountsOnceItIsAdded() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:4;mem:1024"), allocated: ["late": bag("cpus:2;mem:512")])
        #expect(allocator.free(on: "a1") == bag("cpus:2;mem:512"))

        allocator.addFramework("late", roles: ["r"], allocated: ["a1": bag("cpus:2;mem:512")])

        #expect(allocator.allocated(on: "a1") == ["late": bag("cpus:2;mem:512")], "reported twice, counted once")
        #expect(allocator.dominantShare(of: "late") == 0.5)
        #expect(allocator.roleShare(of: "r") == 0.5)

        allocator.removeFramework("late")
        #expect(allocator.free(on: "a1") == bag("cpus:4;mem:1024"))
    }

    @Test func updatingRolesMovesOffersToTheNewRole() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:1;mem:128;cpus(new):1"))
        allocator.addFramework("f1", roles: ["old"])
        #expect(allocator.allocate(now: .zero).map(\.role) == ["old"])
        allocator.recover(bag("cpus:1;mem:128"), agent: "a1", framework: "f1", refuseFor: nil, now: .zero)

        allocator.updateFrameworkRoles("f1", roles: ["new"])

        #expect(allocator.allocate(now: .zero) == [
            Allocation(frameworkID: "f1", role: "new", agentID: "a1", resources: bag("cpus:1;mem:128;cpus(new):1")),
        ])
        #expect(allocator.roleShare(of: "old") == 0)
    }

    @Test func aForgottenFrameworksHoldingsAndFiltersDoNotLeakToTheNextOne() {
        var allocator = allocator()
        allocator.addAgent("a1", total: bag("cpus:2;mem:512"), allocated: ["ghost": bag("cpus:1;mem:256")])
        allocator.addAgent("a2", total: bag("cpus:2;mem:512"))
        allocator.addFramework("f1", roles: ["r"])
        let first = allocator.allocate(now: .zero)
        #expect(Set(first.map(\.agentID)) == ["a1", "a2"])
        for allocation in first {
            allocator.decline(allocation.resources, agent: allocation.agentID, framework: "f1", refuseFor: .seconds(60), now: .zero)
        }
        // The agent's report for a framework that never subscribed is given back, and f1 leaves.
        allocator.recover(bag("cpus:1;mem:256"), agent: "a1", framework: "ghost", refuseFor: nil, now: .zero)
        allocator.removeFramework("f1")

        allocator.addFramework("f2", roles: ["r"])
        allocator.addFramework("f3", roles: ["s"])

        let next = allocator.allocate(now: .seconds(1))
        #expect(Set(next.map(\.agentID)) == ["a1", "a2"], "no filter of f1 applies to the frameworks added after it")
        #expect(Set(next.map(\.frameworkID)).isSubset(of: ["f2", "f3"]))
        #expect(allocator.free(on: "a1") == Resources())
        #expect(allocator.allocated(on: "a1").keys.contains("ghost") == false)
        #expect(allocator.allocated(to: "f1").isEmpty)
        #expect(allocator.dominantShare(of: "ghost") == 0)
        #expect(allocator.frameworkCount == 2)
    }
}
