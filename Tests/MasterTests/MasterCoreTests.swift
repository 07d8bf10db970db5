import AgoraProto
import Foundation
import Messaging
import Resources
import Testing

@testable import Master

private typealias S = MasterScenario

@Suite struct MasterCoreTests {
    // MARK: - Registration

    @Test func registrationAssignsDistinctIDsAndRepliesToTheRegisteringPeer() throws {
        var s = S()
        let first = s.registerAgentRaw(peer: PeerID("a1"), info: S.agentInfo(hostname: "a1", resources: "cpus:2;mem:1024"),
                                       token: "t1")
        let second = s.registerAgentRaw(peer: PeerID("a2"), info: S.agentInfo(hostname: "a2", resources: "cpus:4;mem:2048"),
                                        token: "t2")

        let reply1 = try #require(S.envelopes(first, to: PeerID("a1")).first(where: { $0.isAgentRegistered }))
        let reply2 = try #require(S.envelopes(second, to: PeerID("a2")).first(where: { $0.isAgentRegistered }))
        #expect(S.envelopes(first, to: PeerID("a2")).isEmpty)
        #expect(S.envelopes(second, to: PeerID("a1")).isEmpty)
        let id1 = reply1.agentRegistered.agentID.value
        let id2 = reply2.agentRegistered.agentID.value
        #expect(!id1.isEmpty && !id2.isEmpty)
        #expect(id1 != id2)
        #expect(reply1.agentRegistered.registrationToken == "t1")
        #expect(reply2.agentRegistered.registrationToken == "t2")
        #expect(reply1.agentRegistered.masterInfo.id == "m")
        #expect(s.core.agents.count == 2)
        #expect(s.core.agents[id2]?.total == S.bag("cpus:4;mem:2048"))
        #expect(s.core.allocator.total(of: id1) == S.bag("cpus:2;mem:1024"))
        #expect(s.core.counters.agentsRegistered == 2)
    }

    @Test func reregistrationWithTheSameIDKeepsIt() throws {
        var s = S()
        let id = try s.registerAgent("a1")
        _ = try s.registerAgent("a2")

        // The same agent comes back over a new connection.
        let directives = s.reregisterAgent(id, peer: PeerID("a1-new"))
        let reply = try #require(S.envelopes(directives, to: PeerID("a1-new")).first(where: { $0.isAgentReregistered }))
        #expect(reply.agentReregistered.agentID.value == id)
        #expect(s.core.agents.count == 2)
        #expect(s.core.agents[id]?.isReachable == true)
        #expect(s.core.counters.agentsReregistered == 1)

        // A master that does not know the ID (it restarted) admits the agent under it.
        var fresh = S()
        let admitted = fresh.reregisterAgent("old-S7", peer: PeerID("a3"))
        let reply3 = try #require(S.envelopes(admitted, to: PeerID("a3")).first(where: { $0.isAgentReregistered }))
        #expect(reply3.agentReregistered.agentID.value == "old-S7")
        #expect(fresh.core.agents["old-S7"] != nil)
    }

    @Test func anAgentWithInvalidResourcesIsRefusedNamingTheProblem() throws {
        var s = S()
        var info = S.agentInfo(hostname: "bad", resources: "mem:1024")
        var cpus = Agora_V1_Resource()
        cpus.name = "cpus"
        cpus.type = .scalar
        cpus.scalar.value = -2
        info.resources.append(cpus)

        let directives = s.registerAgentRaw(peer: PeerID("bad"), info: info)

        let envelopes = S.envelopes(directives, to: PeerID("bad"))
        #expect(!envelopes.contains(where: { $0.isAgentRegistered }))
        let refused = try #require(envelopes.first(where: { $0.isRefused })).refused
        #expect(refused.reason.contains("cpus"), "reason: \(refused.reason)")
        #expect(refused.reason.contains("-2"), "reason: \(refused.reason)")
        #expect(s.core.agents.isEmpty)
        #expect(s.core.allocator.agentCount == 0)
    }

    // MARK: - Subscription

    @Test func subscribeAnswersSubscribedWithANewID() throws {
        var s = S()
        let f1 = try s.subscribe("f1")
        let f2 = try s.subscribe("f2")
        #expect(!f1.isEmpty && !f2.isEmpty)
        #expect(f1 != f2)
        #expect(s.core.frameworks[f1]?.isConnected == true)
        #expect(s.core.frameworks[f1]?.info.id.value == f1)
        #expect(s.core.allocator.frameworkCount == 2)
    }

    @Test func aRepeatedSubscribeWithoutAnIDFromTheSameConnectionIsTheSameFramework() throws {
        var s = S()
        let first = try s.subscribe("f1")
        let directives = s.subscribeRaw(peer: PeerID("f1"), info: S.frameworkInfo(name: "f1"))
        let again = try #require(S.events(directives, to: PeerID("f1")).first { $0.type == .subscribed })
        #expect(again.subscribed.frameworkID.value == first)
        #expect(s.core.frameworks.count == 1)
        // Another connection with the same name is another framework.
        let elsewhere = s.subscribeRaw(peer: PeerID("f1-elsewhere"), info: S.frameworkInfo(name: "f1"))
        let other = try #require(S.events(elsewhere, to: PeerID("f1-elsewhere")).first { $0.type == .subscribed })
        #expect(other.subscribed.frameworkID.value != first)
        #expect(s.core.frameworks.count == 2)
    }

    @Test func resubscribingWithTheSameIDResumesAndRescindsOutstandingOffers() throws {
        var s = S()
        _ = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)
        #expect(s.core.offers.count == 1)

        s.now = .seconds(1)
        var info = S.frameworkInfo(name: "f1", id: f)
        info.failoverTimeout = 60
        let directives = s.subscribeRaw(peer: PeerID("f1"), info: info)

        let events = S.events(directives, to: PeerID("f1"))
        #expect(events.filter { $0.type == .rescind }.map(\.rescind.offerID.value) == [offer.id.value])
        let subscribed = try #require(events.first { $0.type == .subscribed })
        #expect(subscribed.subscribed.frameworkID.value == f)
        #expect(s.core.frameworks.count == 1)
        #expect(s.core.offers.isEmpty)
        #expect(s.core.frameworks[f]?.info.failoverTimeout == 60)

        // The resources come back in a new offer.
        let again = try s.takeOffer(for: f)
        #expect(again.id.value != offer.id.value)
        #expect(S.resources(of: again) == S.bag("cpus:2;mem:1024"))
    }

    // MARK: - Offers

    @Test func allocationOffersTheAgentOnceWhileOutstanding() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:2;mem:1024;ports:[31000-31009]")
        let f = try s.subscribe("f1")

        let directives = s.allocate()
        let offerEvents = s.events(directives, to: f).filter { $0.type == .offers }
        #expect(offerEvents.count == 1)
        let offers = offerEvents.flatMap(\.offers.offers)
        try #require(offers.count == 1)
        #expect(offers[0].agentID.value == agent)
        #expect(offers[0].frameworkID.value == f)
        #expect(offers[0].hostname == "a1")
        #expect(S.resources(of: offers[0]) == S.bag("cpus:2;mem:1024;ports:[31000-31009]"))
        #expect(s.core.offered(on: agent) == S.bag("cpus:2;mem:1024;ports:[31000-31009]"))

        for second in [1, 2, 10, 60] {
            s.now = .seconds(second)
            _ = s.tick()
            #expect(s.offers(s.allocate(), to: f).isEmpty, "re-offered at \(second) s")
        }
        #expect(s.core.offers.count == 1)
    }

    // MARK: - ACCEPT validation

    @Test func acceptingMoreThanOfferedIsATaskErrorNamingWhatIsMissing() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")

        let directives = try s.launch(S.task("big", resources: "cpus:3;mem:128"), framework: f)

        let updates = s.updates(directives, to: f)
        try #require(updates.count == 1)
        #expect(updates[0].taskID.value == "big")
        #expect(updates[0].state == .taskError)
        #expect(updates[0].reason == .taskInvalid)
        #expect(updates[0].source == .master)
        let message = updates[0].message
        let missing = try #require(message.range(of: "missing"), "message: \(message)")
        #expect(message[missing.upperBound...].contains("cpus:1"), "message: \(message)")
        #expect(!message[missing.upperBound...].contains("mem"), "only cpus are missing: \(message)")
        #expect(s.toAgent(directives, agent).isEmpty, "nothing is launched")
        #expect(s.core.tasks.isEmpty)
        #expect(s.core.counters.tasksInvalid == 1)
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:2;mem:1024"))
    }

    @Test(arguments: [false, true])
    func acceptingAnUnknownOfferLosesOrDropsTheTasks(partitionAware: Bool) throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1", partitionAware: partitionAware)
        _ = try s.takeOffer(for: f)

        let directives = s.accept(f, offers: ["m-O999"], tasks: [S.task("t1"), S.task("t2")])

        let updates = s.updates(directives, to: f)
        #expect(updates.map(\.taskID.value) == ["t1", "t2"])
        for update in updates {
            #expect(update.state == (partitionAware ? .taskDropped : .taskLost))
            #expect(update.reason == .invalidOffers)
            #expect(update.message.contains("m-O999"))
            #expect(!update.hasUuid)
        }
        #expect(s.toAgent(directives, agent).isEmpty)
        #expect(s.core.tasks.isEmpty)
        #expect(s.core.counters.invalidCalls == 1)
    }

    @Test func aDuplicateTaskIDInOneAcceptIsATaskError() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:4;mem:1024")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)

        let directives = s.accept(f, offers: [offer.id.value], tasks: [S.task("dup"), S.task("dup")])

        let runs = s.toAgent(directives, agent).filter(\.isRunTask)
        #expect(runs.count == 1)
        let updates = s.updates(directives, to: f)
        #expect(updates.count == 1)
        #expect(updates.first?.state == .taskError)
        #expect(updates.first?.reason == .taskInvalid)
        #expect(updates.first?.taskID.value == "dup")
        #expect(s.core.tasks.count == 1)
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:3;mem:896"), "only one task holds resources")
    }

    @Test func aTaskIDAlreadyInUseIsATaskError() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:4;mem:1024")
        let f = try s.subscribe("f1")
        _ = try s.launch(S.task("t1"), framework: f, refuseSeconds: 0)

        s.now = .seconds(1)
        let offer = try s.takeOffer(for: f)
        let directives = s.accept(f, offers: [offer.id.value], tasks: [S.task("t1")])

        #expect(s.toAgent(directives, agent).filter(\.isRunTask).isEmpty)
        let updates = s.updates(directives, to: f)
        #expect(updates.map(\.state) == [.taskError])
        #expect(updates.first?.reason == .taskInvalid)
        #expect(updates.first?.message.contains("t1") == true)
        #expect(s.core.tasks.count == 1)
        #expect(s.core.tasks[TaskKey(frameworkID: f, taskID: "t1")]?.state == .taskStaging)
    }

    @Test func anEmptyCommandIsATaskError() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")

        let directives = try s.launch(S.task("blank", command: "   "), framework: f)

        #expect(s.toAgent(directives, agent).isEmpty)
        let updates = s.updates(directives, to: f)
        #expect(updates.map(\.state) == [.taskError])
        #expect(updates.first?.reason == .taskInvalid)
        #expect(updates.first?.message.contains("command") == true)
        #expect(s.core.tasks.isEmpty)
    }

    @Test func aValidTaskIsSentToTheAgentsPeer() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        _ = try s.registerAgent("a2")
        let f = try s.subscribe("f1")
        let offers = s.offers(s.allocate(), to: f)
        let offer = try #require(offers.first { $0.agentID.value == agent })

        let directives = s.accept(f, offers: [offer.id.value], tasks: [S.task("t1")])

        let sends = S.allEnvelopes(directives).filter { $0.0.isRunTask }
        try #require(sends.count == 1)
        #expect(sends[0].1 == PeerID("a1"))
        let run = sends[0].0.runTask
        #expect(run.agentID.value == agent)
        #expect(run.task.taskID.value == "t1")
        #expect(run.task.agentID.value == agent)
        #expect(run.frameworkInfo.id.value == f)
        #expect(s.updates(directives, to: f).isEmpty, "no error")
        let task = try #require(s.core.tasks[TaskKey(frameworkID: f, taskID: "t1")])
        #expect(task.state == .taskStaging)
        #expect(task.agentID == agent)
        #expect(s.core.used(on: agent) == S.bag("cpus:1;mem:128"))
        #expect(s.core.offers[offer.id.value] == nil)
        #expect(s.core.counters.tasksLaunched == 1)
    }

    @Test func theUnusedRemainderGoesToAnotherFrameworkAtOnce() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f1 = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f1)
        let f2 = try s.subscribe("f2")

        _ = s.accept(f1, offers: [offer.id.value], tasks: [S.task("t1")])
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:1;mem:896"))

        let directives = s.allocate()
        #expect(s.offers(directives, to: f1).isEmpty, "the remainder is filtered for f1")
        let offers = s.offers(directives, to: f2)
        #expect(offers.count == 1)
        #expect(offers.first.map(S.resources(of:)) == S.bag("cpus:1;mem:896"))
    }

    @Test func theUnusedRemainderReturnsToTheSameFrameworkAfterTheRefuseFilter() throws {
        var s = S { $0.allocationInterval = .milliseconds(100) }
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)

        _ = s.accept(f, offers: [offer.id.value], tasks: [S.task("t1")], refuseSeconds: 3)

        for millis in [0, 1_000, 2_000, 2_900] {
            s.now = .milliseconds(millis)
            let directives = s.allocate()
            #expect(s.offers(directives, to: f).isEmpty, "offered at \(s.now)")
        }
        s.now = .seconds(3)
        let offers = s.offers(s.allocate(), to: f)
        #expect(offers.count == 1)
        #expect(offers.first?.agentID.value == agent)
        #expect(offers.first.map(S.resources(of:)) == S.bag("cpus:1;mem:896"))
    }

    private static func launchGroup(executor executorResources: String, tasks: [(String, String)])
        -> Agora_V1_Offer.Operation
    {
        var operation = Agora_V1_Offer.Operation()
        operation.type = .launchGroup
        operation.launchGroup.executor.type = .default
        operation.launchGroup.executor.executorID.value = "group-executor"
        operation.launchGroup.executor.resources = S.bag(executorResources).proto
        operation.launchGroup.taskGroup.tasks = tasks.map { id, resources in
            var task = Agora_V1_TaskInfo()
            task.name = id
            task.taskID.value = id
            task.resources = S.bag(resources).proto
            return task
        }
        return operation
    }

    @Test func aTaskGroupThatFitsIsSentToTheAgent() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:2;mem:1024")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)

        let directives = s.call(.accept, framework: f) { call in
            call.accept.offerIds = [offer.id]
            call.accept.operations = [Self.launchGroup(executor: "cpus:0.5;mem:32",
                                                       tasks: [("g1", "cpus:0.5;mem:128"), ("g2", "cpus:1;mem:128")])]
        }

        let groups = s.toAgent(directives, agent).compactMap { envelope -> Agora_V1_RunTaskGroup? in
            if case .runTaskGroup(let run) = envelope.payload { run } else { nil }
        }
        #expect(groups.map { $0.taskGroup.tasks.map(\.taskID.value) } == [["g1", "g2"]])
        #expect(s.updates(directives, to: f).isEmpty)
        #expect(s.core.used(on: agent) == S.bag("cpus:2;mem:288"))
    }

    /// An executor's exit report can be lost, and a launch can be lost on its way: a pong
    /// lists the executors the agent runs, and those launched on before that ping and not
    /// listed are no longer charged.
    @Test func aPongFreesTheExecutorsTheAgentNoLongerRuns() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:2;mem:1024")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)
        _ = s.call(.accept, framework: f) { call in
            call.accept.offerIds = [offer.id]
            call.accept.operations = [Self.launchGroup(executor: "cpus:0.5;mem:32", tasks: [("g1", "cpus:0.5;mem:128")])]
        }
        #expect(s.core.used(on: agent) == S.bag("cpus:1;mem:160"))

        // A pong to a ping sent before the launch cannot tell: the executor stays charged.
        _ = s.pong(agent, sequence: 0)
        #expect(s.core.used(on: agent) == S.bag("cpus:1;mem:160"))

        // A later ping's pong that lists it keeps it; one that does not frees it.
        s.now = .seconds(16)
        _ = s.tick()
        _ = s.pong(agent, sequence: 1, executors: [(f, "group-executor")])
        #expect(s.core.used(on: agent) == S.bag("cpus:1;mem:160"))
        _ = s.pong(agent, sequence: 1)
        #expect(s.core.used(on: agent) == S.bag("cpus:0.5;mem:128"), "only the task is left")
        #expect(s.core.executors.isEmpty)
    }

    @Test func aTaskGroupMayNotUseMoreThanOfferedCountingItsExecutor() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:2;mem:1024")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)

        // Executor cpus:1 + tasks 1 + 1 = 3 cpus, on an offer of 2.
        let directives = s.call(.accept, framework: f) { call in
            call.accept.offerIds = [offer.id]
            call.accept.operations = [Self.launchGroup(executor: "cpus:1;mem:32",
                                                       tasks: [("g1", "cpus:1;mem:128"), ("g2", "cpus:1;mem:128")])]
        }

        let launched = s.toAgent(directives, agent).contains { envelope in
            if case .runTaskGroup = envelope.payload { true } else { false }
        }
        let updates = s.updates(directives, to: f)
        let used = s.core.used(on: agent)
        #expect(!launched)
        #expect(updates.map(\.state) == [.taskError, .taskError])
        #expect(updates.allSatisfy { $0.reason == .taskGroupInvalid })
        #expect(S.bag("cpus:2;mem:1024").contains(used), "used \(used) on an agent of cpus:2;mem:1024")
    }

    // MARK: - DECLINE

    @Test func declineWithRefuseSecondsFiltersTheAgentUntilItExpires() throws {
        var s = S { $0.allocationInterval = .milliseconds(1) }
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)

        let declined = s.call(.decline, framework: f) { call in
            call.decline.offerIds = [offer.id]
            call.decline.filters.refuseSeconds = 10
        }
        #expect(s.events(declined, to: f).isEmpty)
        #expect(s.core.offers.isEmpty)
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:2;mem:1024"))
        #expect(s.core.counters.offersDeclined == 1)

        for millis in [1_000, 5_000, 9_000, 9_999] {
            s.now = .milliseconds(millis)
            _ = s.tick()
            #expect(s.offers(s.allocate(), to: f).isEmpty, "offered at \(s.now)")
        }
        s.now = .seconds(10)
        let offers = s.offers(s.allocate(), to: f)
        #expect(offers.map(\.agentID.value) == [agent])
    }

    @Test func aDeclinedAgentStillGoesToAnotherFramework() throws {
        var s = S()
        _ = try s.registerAgent("a1")
        let f1 = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f1)
        let f2 = try s.subscribe("f2")

        _ = s.call(.decline, framework: f1) { call in
            call.decline.offerIds = [offer.id]
            call.decline.filters.refuseSeconds = 100
        }
        s.now = .seconds(1)
        let directives = s.allocate()
        #expect(s.offers(directives, to: f1).isEmpty)
        #expect(s.offers(directives, to: f2).count == 1)
    }

    // MARK: - Status updates

    @Test func statusUpdatesAreForwardedAndAcknowledgementsReachTheAgent() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        _ = try s.launch(S.task("t1"), framework: f)
        let key = TaskKey(frameworkID: f, taskID: "t1")

        let running = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        let updates = s.updates(running, to: f)
        try #require(updates.count == 1)
        #expect(updates[0].state == .taskRunning)
        #expect(updates[0].uuid == S.uuid(1))
        #expect(updates[0].agentID.value == agent)
        #expect(s.core.tasks[key]?.state == .taskRunning)
        #expect(s.core.counters.statusUpdates == 1)

        let acked = s.call(.acknowledge, framework: f) { call in
            call.acknowledge.agentID.value = agent
            call.acknowledge.taskID.value = "t1"
            call.acknowledge.uuid = S.uuid(1)
        }
        let acks = s.toAgent(acked, agent).filter(\.isStatusUpdateAcknowledgement).map(\.statusUpdateAcknowledgement)
        try #require(acks.count == 1)
        #expect(acks[0].uuid == S.uuid(1))
        #expect(acks[0].taskID.value == "t1")
        #expect(acks[0].frameworkID.value == f)
        #expect(acks[0].agentID.value == agent)
    }

    @Test func aTerminalUpdateFreesTheResourcesAndCompletesTheTask() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        _ = try s.launch(S.task("t1"), framework: f)
        _ = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:1;mem:896"))

        let finished = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskFinished, uuid: S.uuid(2))

        #expect(s.updates(finished, to: f).map(\.state) == [.taskFinished])
        #expect(s.core.allocator.free(on: agent) == s.core.allocator.total(of: agent))
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:2;mem:1024"))
        #expect(s.core.tasks.isEmpty)
        #expect(s.core.agents[agent]?.tasks.isEmpty == true)
        #expect(s.core.frameworks[f]?.tasks.isEmpty == true)
        #expect(s.core.completedTasks.map(\.key.taskID) == ["t1"])
        #expect(s.core.completedTasks.first?.state == .taskFinished)
        #expect(s.core.used(on: agent).isEmpty)
    }

    // MARK: - Agent liveness

    /// One agent, a partition-aware framework and another one, each with a running
    /// task there, and an outstanding offer of the rest to the second framework.
    private func partitionScenario() throws -> (S, agent: AgentID, aware: FrameworkID, plain: FrameworkID) {
        var s = S { configuration in
            configuration.agentPingTimeout = .seconds(1)
            configuration.maxAgentPingTimeouts = 3
        }
        let agent = try s.registerAgent("a1", resources: "cpus:4;mem:4096")
        let aware = try s.subscribe("aware", partitionAware: true)
        let offerA = try s.takeOffer(for: aware)
        let plain = try s.subscribe("plain")
        _ = s.accept(aware, offers: [offerA.id.value], tasks: [S.task("ta")])
        let offerB = try s.takeOffer(for: plain)
        _ = s.accept(plain, offers: [offerB.id.value], tasks: [S.task("tb")], refuseSeconds: 0)
        _ = try s.takeOffer(for: plain)
        _ = s.statusUpdate(agent: agent, framework: aware, task: "ta", state: .taskRunning, uuid: S.uuid(1))
        _ = s.statusUpdate(agent: agent, framework: plain, task: "tb", state: .taskRunning, uuid: S.uuid(2))
        #expect(s.core.offers.count == 1)
        return (s, agent, aware, plain)
    }

    /// `partitionScenario` after the agent missed its pings (4 s): it is unreachable.
    private func unreachablePartitionScenario() throws -> (S, agent: AgentID, aware: FrameworkID, plain: FrameworkID) {
        let (start, agent, aware, plain) = try partitionScenario()
        var s = start
        for second in 1...4 {
            s.now = .seconds(second)
            _ = s.tick()
        }
        try #require(s.core.agents[agent]?.isReachable == false)
        return (s, agent, aware, plain)
    }

    @Test func anAgentThatMissesPingsBecomesUnreachable() throws {
        let (start, agent, aware, plain) = try partitionScenario()
        var s = start
        let outstanding = try #require(s.core.offers.keys.first)

        // Three pings go out (at 1, 2 and 3 s) and are not answered.
        for second in 1...3 {
            s.now = .seconds(second)
            let directives = s.tick()
            let pings = s.toAgent(directives, agent).filter(\.isPing)
            #expect(pings.map(\.ping.sequence) == [UInt64(second)], "at \(second) s")
            #expect(s.core.agents[agent]?.isReachable == true, "at \(second) s")
        }

        // The third ping is missed at 4 s: the agent is unreachable.
        s.now = .seconds(4)
        let directives = s.tick()
        #expect(s.core.agents[agent]?.isReachable == false)
        #expect(s.core.agents[agent]?.unreachableSince == .seconds(4))
        #expect(s.core.counters.agentsMarkedUnreachable == 1)
        #expect(s.toAgent(directives, agent).filter(\.isPing).isEmpty)
        #expect(s.rescinds(directives, to: plain) == [outstanding])
        #expect(s.core.offers.isEmpty)

        let awareUpdates = s.updates(directives, to: aware)
        #expect(awareUpdates.map(\.taskID.value) == ["ta"])
        #expect(awareUpdates.map(\.state) == [.taskUnreachable])
        #expect(awareUpdates.first?.reason == .agentDisconnected)
        #expect(awareUpdates.first?.hasUnreachableTime == true)
        let plainUpdates = s.updates(directives, to: plain)
        #expect(plainUpdates.map(\.taskID.value) == ["tb"])
        #expect(plainUpdates.map(\.state) == [.taskLost])

        // Nothing is offered on an unreachable agent; no more pings.
        s.now = .seconds(10)
        #expect(s.toAgent(s.tick(), agent).isEmpty)
        let later = s.allocate()
        #expect(s.offers(later, to: aware).isEmpty && s.offers(later, to: plain).isEmpty)
    }

    @Test func aPongResetsTheMissedPingCount() throws {
        var s = S { configuration in
            configuration.agentPingTimeout = .seconds(1)
            configuration.maxAgentPingTimeouts = 3
        }
        let agent = try s.registerAgent("a1")
        for second in 1...2 {
            s.now = .seconds(second)
            _ = s.tick()
        }
        s.now = .milliseconds(2_500)
        #expect(s.pong(agent, sequence: 2).isEmpty)

        // Without the pong the agent would be unreachable at 4 s.
        for second in 3...5 {
            s.now = .seconds(second)
            _ = s.tick()
            #expect(s.core.agents[agent]?.isReachable == true, "at \(second) s")
        }
        s.now = .seconds(6)
        _ = s.tick()
        #expect(s.core.agents[agent]?.isReachable == false)
    }

    @Test func anAnsweredAgentStaysReachable() throws {
        var s = S { configuration in
            configuration.agentPingTimeout = .seconds(1)
            configuration.maxAgentPingTimeouts = 3
        }
        let agent = try s.registerAgent("a1")
        for second in 1...20 {
            s.now = .seconds(second)
            let pings = s.toAgent(s.tick(), agent).filter(\.isPing)
            for ping in pings { _ = s.pong(agent, sequence: ping.ping.sequence) }
        }
        #expect(s.core.agents[agent]?.isReachable == true)
    }

    @Test func anUnreachableAgentReregisteringRestoresOrKillsItsTasks() throws {
        let (start, agent, aware, plain) = try unreachablePartitionScenario()
        var s = start

        s.now = .seconds(5)
        let directives = s.reregisterAgent(agent, peer: PeerID("a1"), resources: "cpus:4;mem:4096", tasks: [
            S.reportedTask("ta", framework: aware, agent: agent, state: .taskRunning),
            S.reportedTask("tb", framework: plain, agent: agent, state: .taskRunning),
        ])

        #expect(S.envelopes(directives, to: PeerID("a1")).contains(where: { $0.isAgentReregistered }))
        #expect(s.core.agents[agent]?.isReachable == true)

        let awareUpdates = s.updates(directives, to: aware)
        #expect(awareUpdates.map(\.taskID.value) == ["ta"])
        #expect(awareUpdates.map(\.state) == [.taskRunning])
        #expect(awareUpdates.first?.reason == .agentReregistered)
        #expect(s.core.tasks[TaskKey(frameworkID: aware, taskID: "ta")]?.state == .taskRunning)

        let kills = s.toAgent(directives, agent).filter(\.isKillTask).map(\.killTask)
        #expect(kills.map(\.taskID.value) == ["tb"])
        #expect(kills.first?.frameworkID.value == plain)
        #expect(s.updates(directives, to: plain).isEmpty)
    }

    @Test func killingAnUnknownTaskOnAnUnreachableAgentIsAnsweredAsReconciliationDoes() throws {
        let (start, agent, aware, plain) = try unreachablePartitionScenario()
        var s = start

        // Tasks the master does not know (say it restarted), named with that agent: they
        // may still run there and come back with it, so the answer is not final.
        for (framework, state) in [(aware, Agora_V1_TaskState.taskUnreachable), (plain, .taskLost)] {
            let directives = s.call(.kill, framework: framework) { call in
                call.kill.taskID.value = "unknown"
                call.kill.agentID.value = agent
            }
            let updates = s.updates(directives, to: framework)
            #expect(updates.map(\.state) == [state])
            #expect(updates.first?.reason == .reconciliation)
            #expect(updates.first?.message.contains("unreachable") == true, "\(updates)")
        }
    }

    /// The `ReconcileAgentTasks` the master sent `agent` in a ping, if any.
    private func reconciliation(_ s: S, _ directives: [MasterDirective], _ agent: AgentID) -> Agora_V1_ReconcileAgentTasks? {
        s.toAgent(directives, agent).first { $0.isPing && $0.ping.hasReconcile }?.ping.reconcile
    }

    @Test func aPartitionAwareTaskMissingAfterReregistrationIsGoneOnceTheAgentConfirms() throws {
        let (start, agent, aware, _) = try unreachablePartitionScenario()
        var s = start

        s.now = .seconds(5)
        let directives = s.reregisterAgent(agent, peer: PeerID("a1"), resources: "cpus:4;mem:4096", tasks: [])

        // The report may predate a launch, so the master asks the agent instead of deciding.
        #expect(s.updates(directives, to: aware).isEmpty)
        let key = TaskKey(frameworkID: aware, taskID: "ta")
        #expect(s.core.tasks[key] != nil)
        let asked = reconciliation(s, directives, agent)?.tasks.first { $0.taskID.value == "ta" }
        #expect(asked?.frameworkID.value == aware)
        #expect(asked?.statuses.first?.state == .taskGone)
        #expect(asked?.statuses.first?.reason == .agentRestarted)

        // The agent does not know it either and sends that status as its own update.
        let confirmed = s.statusUpdate(agent: agent, framework: aware, task: "ta", state: .taskGone, uuid: S.uuid(7))
        #expect(s.updates(confirmed, to: aware).map(\.state) == [.taskGone])
        #expect(s.core.tasks[key] == nil)
        #expect(s.core.completedTasks.contains { $0.key.taskID == "ta" })
    }

    @Test func aLostTaskMissingAfterReregistrationReleasesItsResourcesOnceTheAgentConfirms() throws {
        let (start, agent, aware, plain) = try unreachablePartitionScenario()
        var s = start

        // The agent comes back running only the partition-aware framework's task.
        s.now = .seconds(5)
        let directives = s.reregisterAgent(agent, peer: PeerID("a1"), resources: "cpus:4;mem:4096", tasks: [
            S.reportedTask("ta", framework: aware, agent: agent, state: .taskRunning),
        ])
        // tb was reported LOST while the agent was away; the agent is asked to confirm
        // that with the same state before its resources are released.
        let asked = reconciliation(s, directives, agent)?.tasks ?? []
        #expect(asked.map(\.taskID.value) == ["tb"])
        #expect(asked.first?.statuses.first?.state == .taskLost)

        _ = s.statusUpdate(agent: agent, framework: plain, task: "tb", state: .taskLost, uuid: S.uuid(8))
        let plainKey = TaskKey(frameworkID: plain, taskID: "tb")
        let lingering = s.core.tasks[plainKey]
        let used = s.core.used(on: agent)
        let free = s.core.allocator.free(on: agent)
        #expect(lingering == nil, "tb is still tracked as \(lingering?.state.name ?? "-")")
        #expect(used == S.bag("cpus:1;mem:128"))
        #expect(free == S.bag("cpus:3;mem:3968"))
    }

    @Test func aReportThatCrossesALaunchDoesNotEndTheLaunchedTask() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:4;mem:4096")
        let framework = try s.subscribe("web", partitionAware: true)
        _ = try s.launch(S.task("t1"), framework: framework, refuseSeconds: 0)
        _ = s.statusUpdate(agent: agent, framework: framework, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        _ = try s.launch(S.task("t2"), framework: framework)

        // A re-registration the agent sent before the RunTask of t2 reached it (and
        // before t1 started there, say) arrives now: it names neither task.
        s.now = .seconds(1)
        let directives = s.reregisterAgent(agent, peer: PeerID("a1"), resources: "cpus:4;mem:4096", tasks: [])

        #expect(s.updates(directives, to: framework).isEmpty, "nothing is decided on a report that may be stale")
        #expect(s.core.tasks.count == 2)
        #expect(s.core.used(on: agent) == S.bag("cpus:2;mem:256"))
        let asked = reconciliation(s, directives, agent)?.tasks ?? []
        #expect(asked.map(\.taskID.value) == ["t1", "t2"])
        #expect(asked.map { $0.statuses.first?.state } == [.taskGone, .taskDropped])
        // The reconciliation leaves in a ping after the reply, on the same connection, so
        // after the RunTask of t2: the agent knows both and answers nothing but its pong.
        let envelopes = s.toAgent(directives, agent)
        let reply = envelopes.firstIndex(where: \.isAgentReregistered)
        let ping = envelopes.firstIndex { $0.isPing && $0.ping.hasReconcile }
        #expect(reply != nil && ping != nil && reply! < ping!)

        // It is asked again with every ping until a pong answers one that carried the tasks.
        s.now = .seconds(2)
        var later = s.pong(agent, sequence: 0)
        later += s.tick()
        s.now = .seconds(20)
        later += s.tick()
        let again = s.toAgent(later, agent).filter(\.isPing)
        #expect(again.allSatisfy(\.ping.hasReconcile) && !again.isEmpty)
        let carried = envelopes[try #require(ping)].ping.sequence
        _ = s.pong(agent, sequence: carried)
        s.now = .seconds(40)
        let quiet = s.toAgent(s.tick(), agent).filter(\.isPing)
        #expect(!quiet.isEmpty && quiet.allSatisfy { !$0.ping.hasReconcile })
        #expect(s.core.tasks.count == 2, "both tasks still run")
    }

    // MARK: - Framework failover

    @Test func aDisconnectedFrameworkIsTornDownAfterItsFailoverTimeout() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1", failoverTimeout: 10)
        _ = try s.launch(S.task("t1"), framework: f, refuseSeconds: 0)
        _ = try s.takeOffer(for: f)
        _ = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        try #require(s.core.offers.count == 1)

        s.now = .seconds(1)
        let disconnected = s.core.peerDisconnected(PeerID("f1"), now: s.now)
        #expect(S.allEnvelopes(disconnected).isEmpty, "offers are rescinded silently")
        #expect(s.core.offers.isEmpty)
        #expect(s.core.frameworks[f]?.isConnected == false)
        #expect(s.core.tasks[TaskKey(frameworkID: f, taskID: "t1")]?.state == .taskRunning)
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:1;mem:896"))

        for millis in [2_000, 5_000, 10_999] {
            s.now = .milliseconds(millis)
            let directives = s.tick()
            #expect(S.allEnvelopes(directives).filter { $0.0.isShutdownFramework }.isEmpty, "at \(s.now)")
            #expect(s.core.frameworks[f] != nil, "at \(s.now)")
        }

        s.now = .seconds(11)
        let directives = s.tick()
        #expect(s.core.frameworks[f] == nil)
        let shutdowns = s.toAgent(directives, agent).filter(\.isShutdownFramework).map(\.shutdownFramework)
        #expect(shutdowns.map(\.frameworkID.value) == [f])
        #expect(s.core.tasks.isEmpty)
        #expect(s.core.completedTasks.map(\.key.taskID) == ["t1"])
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:2;mem:1024"))
        #expect(s.core.counters.frameworksTornDown == 1)
    }

    @Test func aFrameworkReturningWithinItsFailoverTimeoutKeepsItsTasks() throws {
        var s = S()
        _ = try s.registerAgent("a1")
        let f = try s.subscribe("f1", failoverTimeout: 10)
        _ = try s.launch(S.task("t1"), framework: f)
        s.now = .seconds(1)
        _ = s.core.peerDisconnected(PeerID("f1"), now: s.now)

        s.now = .seconds(5)
        let directives = s.subscribeRaw(peer: PeerID("f1-new"),
                                        info: S.frameworkInfo(name: "f1", failoverTimeout: 10, id: f))
        #expect(S.events(directives, to: PeerID("f1-new")).map(\.type) == [.subscribed])
        s.now = .seconds(30)
        _ = s.tick()
        #expect(s.core.frameworks[f]?.isConnected == true)
        #expect(s.core.tasks[TaskKey(frameworkID: f, taskID: "t1")] != nil)
    }

    @Test func anOldConnectionClosingDoesNotDisconnectAResubscribedFramework() throws {
        var s = S()
        _ = try s.registerAgent("a1")
        let f = try s.subscribe("f1", failoverTimeout: 10)
        _ = s.subscribeRaw(peer: PeerID("f1-new"), info: S.frameworkInfo(name: "f1", failoverTimeout: 10, id: f))

        _ = s.core.peerDisconnected(PeerID("f1"), now: s.now)

        #expect(s.core.frameworks[f]?.isConnected == true)
        let offers = S.events(s.allocate(), to: PeerID("f1-new")).filter { $0.type == .offers }
        #expect(offers.count == 1)
    }

    @Test func aRestartedMasterLearnsTasksAndFrameworksFromAReregisteringAgent() throws {
        var s = S()
        let info = S.frameworkInfo(name: "f1", failoverTimeout: 100, id: "old-0001")
        let directives = s.reregisterAgent("old-S1", peer: PeerID("a1"), resources: "cpus:2;mem:1024",
                                           tasks: [S.reportedTask("t1", framework: "old-0001", agent: "old-S1",
                                                                  state: .taskRunning)],
                                           frameworks: [info])
        #expect(S.envelopes(directives, to: PeerID("a1")).contains(where: { $0.isAgentReregistered }))
        #expect(s.core.frameworks["old-0001"]?.isConnected == false)
        #expect(s.core.tasks[TaskKey(frameworkID: "old-0001", taskID: "t1")]?.state == .taskRunning)
        #expect(s.core.allocator.free(on: "old-S1") == S.bag("cpus:1;mem:896"))

        s.now = .seconds(10)
        let subscribed = s.subscribeRaw(peer: PeerID("f1"), info: info)
        let event = try #require(S.events(subscribed, to: PeerID("f1")).first { $0.type == .subscribed })
        #expect(event.subscribed.frameworkID.value == "old-0001")
        s.frameworkPeers["old-0001"] = PeerID("f1")

        let offers = s.offers(s.allocate(), to: "old-0001")
        #expect(offers.map(S.resources(of:)) == [S.bag("cpus:1;mem:896")])
        let reconciled = s.updates(s.call(.reconcile, framework: "old-0001"), to: "old-0001")
        #expect(reconciled.map(\.taskID.value) == ["t1"])
        #expect(reconciled.map(\.state) == [.taskRunning])
    }

    @Test func anUnansweredOfferIsRescindedAfterTheOfferTimeout() throws {
        var s = S { $0.offerTimeout = .seconds(30) }
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)

        s.now = .milliseconds(29_999)
        #expect(s.rescinds(s.tick(), to: f).isEmpty)
        s.now = .seconds(30)
        #expect(s.rescinds(s.tick(), to: f) == [offer.id.value])
        #expect(s.core.offers.isEmpty)
        #expect(s.core.allocator.free(on: agent) == S.bag("cpus:2;mem:1024"))
        let again = s.offers(s.allocate(), to: f)
        #expect(again.map(\.agentID.value) == [agent], "a rescinded offer is not filtered")
    }

    // MARK: - Reconciliation

    @Test func implicitReconciliationReturnsEveryKnownTaskWithoutUUID() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:4;mem:1024")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)
        _ = s.accept(f, offers: [offer.id.value], tasks: [S.task("t1"), S.task("t2")])
        _ = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskRunning, uuid: S.uuid(1))

        let directives = s.call(.reconcile, framework: f)

        let updates = s.updates(directives, to: f)
        #expect(updates.map(\.taskID.value) == ["t1", "t2"])
        #expect(updates.map(\.state) == [.taskRunning, .taskStaging])
        for update in updates {
            #expect(!update.hasUuid, "\(update.taskID.value) carries a uuid")
            #expect(update.reason == .reconciliation)
            #expect(update.source == .master)
            #expect(update.agentID.value == agent)
        }
    }

    @Test(arguments: [false, true])
    func explicitReconciliationOfAnUnknownTask(partitionAware: Bool) throws {
        var s = S()
        _ = try s.registerAgent("a1")
        let f = try s.subscribe("f1", partitionAware: partitionAware)

        let directives = s.call(.reconcile, framework: f) { call in
            var task = Agora_V1_Scheduler_Call.Reconcile.Task()
            task.taskID.value = "ghost"
            call.reconcile.tasks = [task]
        }

        let updates = s.updates(directives, to: f)
        #expect(updates.map(\.taskID.value) == ["ghost"])
        #expect(updates.map(\.state) == [partitionAware ? .taskUnknown : .taskLost])
        #expect(updates.first?.hasUuid == false)
        #expect(updates.first?.reason == .reconciliation)
    }

    @Test func explicitReconciliationOfAKnownAndAFinishedTask() throws {
        var s = S()
        let agent = try s.registerAgent("a1", resources: "cpus:4;mem:1024")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)
        _ = s.accept(f, offers: [offer.id.value], tasks: [S.task("t1"), S.task("t2")])
        _ = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        _ = s.statusUpdate(agent: agent, framework: f, task: "t2", state: .taskFinished, uuid: S.uuid(2))

        let directives = s.call(.reconcile, framework: f) { call in
            call.reconcile.tasks = ["t1", "t2"].map { id in
                var task = Agora_V1_Scheduler_Call.Reconcile.Task()
                task.taskID.value = id
                return task
            }
        }

        let updates = s.updates(directives, to: f)
        #expect(updates.map(\.taskID.value) == ["t1", "t2"])
        #expect(updates.map(\.state) == [.taskRunning, .taskFinished])
        #expect(updates.allSatisfy { !$0.hasUuid })
    }

    // MARK: - Suppress, revive

    @Test func suppressStopsOffersAndReviveRestoresThem() throws {
        var s = S()
        let f = try s.subscribe("f1")
        _ = s.call(.suppress, framework: f)
        let agent = try s.registerAgent("a1")

        for second in [0, 1, 30] {
            s.now = .seconds(second)
            #expect(s.offers(s.allocate(), to: f).isEmpty, "offered at \(second) s while suppressed")
        }
        #expect(s.core.frameworks[f]?.suppressedRoles == ["*"])

        _ = s.call(.revive, framework: f)
        #expect(s.core.frameworks[f]?.suppressedRoles.isEmpty == true)
        let offers = s.offers(s.allocate(), to: f)
        #expect(offers.map(\.agentID.value) == [agent])
    }

    @Test func reviveClearsDeclineFilters() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)
        _ = s.call(.decline, framework: f) { call in
            call.decline.offerIds = [offer.id]
            call.decline.filters.refuseSeconds = 1_000
        }
        s.now = .seconds(1)
        #expect(s.offers(s.allocate(), to: f).isEmpty)

        _ = s.call(.revive, framework: f)
        #expect(s.offers(s.allocate(), to: f).map(\.agentID.value) == [agent])
    }

    // MARK: - Weights

    @Test func roleWeightsSplitAgentsInProportion() throws {
        var s = S { configuration in
            configuration.allocator.weights = RoleWeights(["heavy": 2, "light": 1])
        }
        for index in 1...30 { _ = try s.registerAgent("a\(index)", resources: "cpus:1;mem:256") }
        let heavy = try s.subscribe("heavy", roles: ["heavy"])
        let light = try s.subscribe("light", roles: ["light"])

        let directives = s.allocate()

        let heavyOffers = s.offers(directives, to: heavy)
        let lightOffers = s.offers(directives, to: light)
        #expect(heavyOffers.count + lightOffers.count == 30)
        #expect((19...21).contains(heavyOffers.count), "heavy got \(heavyOffers.count)")
        #expect((9...11).contains(lightOffers.count), "light got \(lightOffers.count)")
        #expect(heavyOffers.allSatisfy { $0.allocationInfo.role == "heavy" })
        #expect(lightOffers.allSatisfy { $0.allocationInfo.role == "light" })
        #expect(Set((heavyOffers + lightOffers).map(\.agentID.value)).count == 30, "each agent once")
    }

    // MARK: - Invalid input

    @Test func aMessageTheMasterDoesNotAcceptIsRefused() throws {
        var s = S()
        var envelope = Agora_V1_Envelope()
        var ping = Agora_V1_Ping()
        ping.sequence = 1
        envelope.ping = ping

        let directives = s.handle(envelope, from: PeerID("stranger"))

        let replies = S.envelopes(directives, to: PeerID("stranger"))
        #expect(replies.count == 1)
        #expect(replies.first?.isRefused == true)
        #expect(replies.first?.refused.reason.contains("ping") == true, "\(replies.first?.refused.reason ?? "")")
        #expect(s.core.counters.invalidCalls == 1)

        _ = s.handle(Agora_V1_Envelope(), from: PeerID("stranger"))
        #expect(s.core.counters.invalidCalls == 2)
    }

    @Test func aCallFromAnUnknownFrameworkGetsAnError() throws {
        var s = S()
        _ = try s.registerAgent("a1")
        var call = Agora_V1_Scheduler_Call()
        call.type = .revive
        call.frameworkID.value = "m-9999"

        let directives = s.call(call, from: PeerID("who"))

        let events = S.events(directives, to: PeerID("who"))
        #expect(events.map(\.type) == [.error])
        #expect(events.first?.error.message.contains("m-9999") == true)
        #expect(s.core.counters.invalidCalls == 1)
        #expect(s.core.frameworks.isEmpty)
    }
}
