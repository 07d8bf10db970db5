import AgoraProto
import Foundation
import Messaging
import Resources
import Testing

@testable import Master

private typealias S = MasterScenario

/// `MasterCore` writing its registry and recovering from it after a restart,
/// driven deterministically (no sockets, explicit time).
@Suite struct RegistryRecoveryTests {
    // MARK: - Helpers

    /// The registry as the shell keeps it: every `.persist` applied in order.
    private struct Recorder {
        var snapshot = RegistrySnapshot()

        @discardableResult
        mutating func record(_ directives: [MasterDirective]) -> [MasterDirective] {
            for case .persist(let change) in directives { snapshot.apply(change) }
            return directives
        }
    }

    private static func persisted(_ directives: [MasterDirective]) -> [RegistryChange] {
        directives.compactMap { if case .persist(let change) = $0 { change } else { nil } }
    }

    /// Index of the first directive matching `predicate`, or `Int.max`.
    private static func index(in directives: [MasterDirective], _ predicate: (MasterDirective) -> Bool) -> Int {
        directives.firstIndex(where: predicate) ?? Int.max
    }

    private static func isPersist(_ directive: MasterDirective, _ match: (RegistryChange) -> Bool) -> Bool {
        if case .persist(let change) = directive { match(change) } else { false }
    }

    private static func isSend(_ directive: MasterDirective, _ match: (Agora_V1_Envelope) -> Bool) -> Bool {
        if case .send(let envelope, _) = directive { match(envelope) } else { false }
    }

    /// A master (run `runID`, started at Unix time `startedAt`) recovered from `snapshot`.
    private static func restarted(from snapshot: RegistrySnapshot, runID: String = "m2", startedAt: Double = 1_000,
                                  configure: (inout MasterConfiguration) -> Void = { _ in })
        -> (MasterScenario, [MasterDirective])
    {
        var s = S { configuration in
            configuration.runID = runID
            configuration.startedAtUnixSeconds = startedAt
            configure(&configuration)
        }
        let directives = s.core.recover(from: snapshot, now: s.now)
        return (s, directives)
    }

    /// A re-registration as the agent sends it: its stored info plus its tasks.
    private static func reregister(_ s: inout MasterScenario, _ id: AgentID, peer: String, hostname: String,
                                   resources: String = "cpus:2;mem:1024", tasks: [Agora_V1_Task] = [],
                                   frameworks: [Agora_V1_FrameworkInfo] = []) -> [MasterDirective] {
        var message = Agora_V1_ReregisterAgent()
        message.agentInfo = S.agentInfo(hostname: hostname, resources: resources, id: id)
        message.version = "t"
        message.bootID = "boot"
        message.tasks = tasks
        message.frameworks = frameworks
        var envelope = Agora_V1_Envelope()
        envelope.reregisterAgent = message
        s.agentPeers[id] = PeerID(peer)
        return s.handle(envelope, from: PeerID(peer))
    }

    private static func reconcile(_ s: inout MasterScenario, _ framework: FrameworkID,
                                  _ tasks: [(String, AgentID?)]) -> [Agora_V1_TaskStatus] {
        let directives = s.call(.reconcile, framework: framework) { call in
            call.reconcile.tasks = tasks.map { taskID, agentID in
                var task = Agora_V1_Scheduler_Call.Reconcile.Task()
                task.taskID.value = taskID
                if let agentID { task.agentID.value = agentID }
                return task
            }
        }
        return s.updates(directives, to: framework)
    }

    /// A first master run: two agents, a partition-aware framework with failover
    /// timeout 0 running task `t1` on the first agent. Returns its registry at the crash.
    private static func firstRun() throws -> (registry: RegistrySnapshot, agents: [AgentID], framework: FrameworkID,
                                              info: Agora_V1_FrameworkInfo) {
        var recorder = Recorder()
        var s = S { configuration in
            configuration.runID = "m1"
            configuration.startedAtUnixSeconds = 500
        }
        recorder.record(s.core.recover(from: RegistrySnapshot(), now: s.now))
        var agents: [AgentID] = []
        for name in ["a1", "a2"] {
            let directives = recorder.record(s.registerAgentRaw(peer: PeerID(name),
                                                                info: S.agentInfo(hostname: name, resources: "cpus:2;mem:1024")))
            let reply = try #require(S.envelopes(directives, to: PeerID(name)).first(where: { $0.isAgentRegistered }))
            agents.append(reply.agentRegistered.agentID.value)
            s.agentPeers[agents.last!] = PeerID(name)
        }
        let info = S.frameworkInfo(name: "f1", partitionAware: true, failoverTimeout: 0)
        let subscribed = recorder.record(s.subscribeRaw(peer: PeerID("f1"), info: info))
        let framework = try #require(S.events(subscribed, to: PeerID("f1")).first { $0.type == .subscribed })
            .subscribed.frameworkID.value
        s.frameworkPeers[framework] = PeerID("f1")
        let offers = s.offers(recorder.record(s.allocate()), to: framework)
        let offer = try #require(offers.first { $0.agentID.value == agents[0] })
        recorder.record(s.accept(framework, offers: [offer.id.value], tasks: [S.task("t1")]))
        recorder.record(s.statusUpdate(agent: agents[0], framework: framework, task: "t1", state: .taskRunning,
                                       uuid: S.uuid(1)))
        var stored = info
        stored.id.value = framework
        stored.user = "tester"
        return (recorder.snapshot, agents, framework, stored)
    }

    // MARK: - What is stored, and when

    @Test func registryChangesComeBeforeTheMessagesThatDependOnThem() throws {
        var s = S { $0.agentPingTimeout = .seconds(1); $0.maxAgentPingTimeouts = 1 }

        let registered = s.registerAgentRaw(peer: PeerID("a1"), info: S.agentInfo(hostname: "a1", resources: "cpus:2;mem:1024"))
        let agent = try #require(S.envelopes(registered, to: PeerID("a1")).first(where: { $0.isAgentRegistered }))
            .agentRegistered.agentID.value
        s.agentPeers[agent] = PeerID("a1")
        let admitted = Self.index(in: registered) { Self.isPersist($0) { if case .admitAgent(agent, _, _) = $0 { true } else { false } } }
        let reply = Self.index(in: registered) { Self.isSend($0, \.isAgentRegistered) }
        #expect(admitted < reply, "the agent is admitted in the registry before AgentRegistered")
        #expect(reply != Int.max)

        let subscribed = s.subscribeRaw(peer: PeerID("f1"), info: S.frameworkInfo(name: "f1", partitionAware: true))
        let framework = try #require(S.events(subscribed, to: PeerID("f1")).first { $0.type == .subscribed })
            .subscribed.frameworkID.value
        s.frameworkPeers[framework] = PeerID("f1")
        let upsert = Self.index(in: subscribed) { Self.isPersist($0) { if case .upsertFramework(framework, _) = $0 { true } else { false } } }
        let event = Self.index(in: subscribed) { Self.isSend($0) { $0.isSchedulerEvent && $0.schedulerEvent.type == .subscribed } }
        #expect(upsert < event, "the framework is stored before SUBSCRIBED")
        #expect(event != Int.max)

        _ = try s.launch(S.task("t1"), framework: framework)
        // Missed pings: unreachable is stored before TASK_UNREACHABLE goes out.
        s.now = .seconds(1)
        _ = s.tick()
        s.now = .seconds(2)
        let lost = s.tick()
        let marked = Self.index(in: lost) { Self.isPersist($0) { if case .markAgentUnreachable(agent, _) = $0 { true } else { false } } }
        let update = Self.index(in: lost) { Self.isSend($0) { $0.isSchedulerEvent && $0.schedulerEvent.update.status.state == .taskUnreachable } }
        #expect(marked < update)
        #expect(update != Int.max)
        #expect(Self.persisted(lost).contains(.markAgentUnreachable(agent, since: 2)))

        // TEARDOWN: removed from the registry before its tasks are shut down.
        let teardown = s.call(.teardown, framework: framework)
        #expect(Self.persisted(teardown) == [.removeFramework(framework)])
    }

    @Test func aDisconnectingFrameworkStoresItsFailoverDeadlineAndResubscribingClearsIt() throws {
        var s = S { $0.startedAtUnixSeconds = 100 }
        let f = try s.subscribe("f1", failoverTimeout: 30)
        s.now = .seconds(5)
        let disconnected = s.core.peerDisconnected(PeerID("f1"), now: s.now)
        #expect(Self.persisted(disconnected) == [.markFrameworkDisconnected(f, failoverDeadline: 135)])
        #expect(s.core.frameworks[f]?.failoverDeadline == .seconds(35))

        s.now = .seconds(10)
        let info = S.frameworkInfo(name: "f1", failoverTimeout: 30, id: f)
        let back = s.subscribeRaw(peer: PeerID("f1-new"), info: info)
        var stored = info
        stored.user = "tester"
        #expect(Self.persisted(back) == [.upsertFramework(f, info: stored)])
        #expect(s.core.frameworks[f]?.failoverDeadline == nil)
    }

    @Test func aRemovedAgentIsStoredAsGoneAndRefusedWhenItReturns() throws {
        var s = S()
        let agent = try s.registerAgent("a1")
        var unregister = Agora_V1_UnregisterAgent()
        unregister.agentID.value = agent
        unregister.reason = "decommissioned"
        var envelope = Agora_V1_Envelope()
        envelope.unregisterAgent = unregister
        let removed = s.handle(envelope, from: PeerID("a1"))
        #expect(Self.persisted(removed) == [.markAgentGone(agent)])
        #expect(s.core.goneAgents == [agent])

        let back = Self.reregister(&s, agent, peer: "a1", hostname: "a1")
        let shutdown = try #require(S.envelopes(back, to: PeerID("a1")).compactMap { envelope -> Agora_V1_ShutdownAgent? in
            if case .shutdownAgent(let message) = envelope.payload { message } else { nil }
        }.first)
        #expect(shutdown.agentID.value == agent)
        #expect(shutdown.message.contains("removed"))
        #expect(!S.envelopes(back, to: PeerID("a1")).contains(where: { $0.isAgentReregistered }))
        #expect(s.core.agents[agent] == nil)
        #expect(Self.persisted(back).isEmpty)
        #expect(s.core.counters.goneAgentsRefused == 1)
    }

    // MARK: - Recovery

    @Test func aRestartedMasterWaitsForItsAgentsAndRebuildsTasksFromThem() throws {
        let (registry, agents, framework, info) = try Self.firstRun()
        #expect(registry.agents.keys.sorted() == agents.sorted())
        #expect(registry.frameworks.keys.sorted() == [framework])
        #expect(registry.masterRuns == ["m1"])

        var (s, recovery) = Self.restarted(from: registry)
        #expect(Self.persisted(recovery).contains(.recordMasterRun("m2", startedAt: 1_000)))
        // Known agents are recovering: not offered, not pinged, tasks unknown.
        for agent in agents {
            #expect(s.core.agents[agent]?.isRecovering == true)
            #expect(s.core.agents[agent]?.isReachable == false)
        }
        #expect(s.core.recoveringAgents == Set(agents))
        #expect(s.core.recoveryDeadline == .seconds(600))
        #expect(s.core.allocator.agentCount == 0)
        #expect(s.core.tasks.isEmpty)
        #expect(s.core.frameworks[framework]?.isConnected == false)
        #expect(s.core.stateView(now: s.now).agents.map(\.state) == ["recovering", "recovering"])

        // The framework re-subscribes under its ID before the agents are back.
        s.now = .seconds(1)
        let subscribed = s.subscribeRaw(peer: PeerID("f1-again"), info: info)
        #expect(S.events(subscribed, to: PeerID("f1-again")).first { $0.type == .subscribed }?
            .subscribed.frameworkID.value == framework)
        s.frameworkPeers[framework] = PeerID("f1-again")
        #expect(s.offers(s.allocate(), to: framework).isEmpty, "nothing to offer while agents recover")
        #expect(S.allEnvelopes(s.tick()).filter { $0.0.isPing }.isEmpty, "recovering agents are not pinged")

        // The first agent comes back with the running task, under the same ID.
        s.now = .seconds(2)
        let back = Self.reregister(&s, agents[0], peer: "a1-new", hostname: "a1", tasks: [
            S.reportedTask("t1", framework: framework, agent: agents[0], state: .taskRunning),
        ])
        #expect(S.envelopes(back, to: PeerID("a1-new")).first(where: { $0.isAgentReregistered })?
            .agentReregistered.agentID.value == agents[0])
        #expect(Self.persisted(back).isEmpty, "same info, already admitted: nothing to write")
        #expect(s.toAgent(back, agents[0]).filter { $0.isKillTask }.isEmpty)
        #expect(s.core.tasks[TaskKey(frameworkID: framework, taskID: "t1")]?.state == .taskRunning)
        #expect(s.core.agents[agents[0]]?.isReachable == true)
        #expect(s.core.recoveringAgents == [agents[1]])

        // Offers flow again from the agent that is back (minus the task), not the other.
        let offers = s.offers(s.allocate(), to: framework)
        #expect(offers.map(\.agentID.value) == [agents[0]])
        #expect(offers.map(S.resources(of:)) == [S.bag("cpus:1;mem:896")])
        #expect(Self.reconcile(&s, framework, [("t1", agents[0])]).map(\.state) == [.taskRunning])

        // The second agent never returns: unreachable after the timeout, stored, and
        // the partition-aware framework hears that it is lost.
        s.now = .milliseconds(599_999)
        #expect(Self.persisted(s.tick()).isEmpty)
        s.now = .seconds(600)
        let expired = s.tick()
        #expect(Self.persisted(expired) == [.markAgentUnreachable(agents[1], since: 1_600)])
        let failures = s.events(expired, to: framework).filter { $0.type == .failure }
        #expect(failures.map(\.failure.agentID.value) == [agents[1]])
        #expect(s.core.agents[agents[1]]?.unreachableSince == .seconds(600))
        #expect(s.core.recoveringAgents.isEmpty)
        #expect(s.core.recoveryDeadline == nil)
        #expect(s.core.counters.agentsMarkedUnreachable == 1)
        #expect(s.core.stateView(now: s.now).agents.map(\.state) == ["active", "unreachable"])
        #expect(Self.reconcile(&s, framework, [("t9", agents[1])]).map(\.state) == [.taskUnreachable])
    }

    @Test func reconciliationDoesNotDenyTasksThatMayBeOnRecoveringAgents() throws {
        let (registry, agents, framework, info) = try Self.firstRun()
        var (s, _) = Self.restarted(from: registry)
        _ = s.subscribeRaw(peer: PeerID("f1"), info: info)
        s.frameworkPeers[framework] = PeerID("f1")

        // Nothing is known yet: an explicit reconcile naming a recovering agent, or
        // no agent at all, gets no answer; an implicit one answers what is known (nothing).
        #expect(Self.reconcile(&s, framework, [("t1", agents[0]), ("t2", nil)]).isEmpty)
        #expect(Self.reconcile(&s, framework, []).isEmpty)
        // Nor is a kill of such a task denied.
        let kill = s.call(.kill, framework: framework) { $0.kill.taskID.value = "t1" }
        #expect(s.updates(kill, to: framework).isEmpty)

        _ = Self.reregister(&s, agents[0], peer: "a1", hostname: "a1", tasks: [
            S.reportedTask("t1", framework: framework, agent: agents[0], state: .taskRunning),
        ])
        // t1 is known now; a task said to be on the agent that is back, which does not
        // run it, is gone (as in Mesos); one without an agent may still be on the
        // recovering second agent.
        let answers = Self.reconcile(&s, framework, [("t1", nil), ("t3", agents[0]), ("t4", nil), ("t5", agents[1])])
        #expect(answers.map(\.taskID.value) == ["t1", "t3"])
        #expect(answers.map(\.state) == [.taskRunning, .taskGone])
        #expect(Self.reconcile(&s, framework, []).map(\.taskID.value) == ["t1"])

        // Once every agent is back, unknown tasks are unknown.
        _ = Self.reregister(&s, agents[1], peer: "a2", hostname: "a2")
        #expect(Self.reconcile(&s, framework, [("t4", nil)]).map(\.state) == [.taskUnknown])
    }

    @Test func messagesFromARecoveringAgentAskItToReregister() throws {
        let (registry, agents, framework, _) = try Self.firstRun()
        var (s, _) = Self.restarted(from: registry)
        s.agentPeers[agents[0]] = PeerID("a1")
        let directives = s.statusUpdate(agent: agents[0], framework: framework, task: "t1", state: .taskFinished,
                                        uuid: S.uuid(2))
        let refused = try #require(S.envelopes(directives, to: PeerID("a1")).first(where: { $0.isRefused })).refused
        #expect(refused.agentID.value == agents[0])
        #expect(refused.reason.contains("re-register"))
        #expect(s.core.counters.misaddressedMessages == 0)
    }

    @Test func frameworksGetTheirStoredDeadlineOrTimeToResubscribe() throws {
        var registry = RegistrySnapshot()
        registry.apply(.upsertFramework("m1-0001", info: S.frameworkInfo(name: "was-connected", failoverTimeout: 0, id: "m1-0001")))
        registry.apply(.upsertFramework("m1-0002", info: S.frameworkInfo(name: "long", failoverTimeout: 3_600, id: "m1-0002")))
        registry.apply(.upsertFramework("m1-0003", info: S.frameworkInfo(name: "was-away", failoverTimeout: 60, id: "m1-0003")))
        registry.apply(.markFrameworkDisconnected("m1-0003", failoverDeadline: 1_030))

        let (s, recovery) = Self.restarted(from: registry, startedAt: 1_000) { $0.agentReregisterTimeout = .seconds(120) }
        #expect(s.core.frameworks.values.allSatisfy { !$0.isConnected })
        #expect(s.core.frameworks["m1-0001"]?.failoverDeadline == .seconds(120))
        #expect(s.core.frameworks["m1-0002"]?.failoverDeadline == .seconds(3_600))
        #expect(s.core.frameworks["m1-0003"]?.failoverDeadline == .seconds(30))
        // The new deadlines are stored, so another restart does not extend them.
        #expect(Self.persisted(recovery).filter { if case .markFrameworkDisconnected = $0 { true } else { false } }
            == [.markFrameworkDisconnected("m1-0001", failoverDeadline: 1_120),
                .markFrameworkDisconnected("m1-0002", failoverDeadline: 4_600)])
    }

    @Test func aFrameworkWhoseDeadlinePassedIsTornDownAndItsReportedTasksAreShutDown() throws {
        var registry = RegistrySnapshot()
        registry.apply(.admitAgent("m1-S1", hostname: "a1", info: S.agentInfo(hostname: "a1", resources: "cpus:2;mem:1024", id: "m1-S1")))
        let info = S.frameworkInfo(name: "gone-fw", failoverTimeout: 10, id: "m1-0001")
        registry.apply(.upsertFramework("m1-0001", info: info))
        registry.apply(.markFrameworkDisconnected("m1-0001", failoverDeadline: 990))  // before this run started

        var (s, _) = Self.restarted(from: registry, startedAt: 1_000)
        let torn = s.tick()
        #expect(s.core.frameworks["m1-0001"] == nil)
        #expect(Self.persisted(torn) == [.removeFramework("m1-0001")])

        // The agent still runs its task: it is told to shut the framework down.
        let back = Self.reregister(&s, "m1-S1", peer: "a1", hostname: "a1", tasks: [
            S.reportedTask("t1", framework: "m1-0001", agent: "m1-S1", state: .taskRunning),
        ], frameworks: [info])
        let shutdowns = s.toAgent(back, "m1-S1").filter { $0.isShutdownFramework }.map(\.shutdownFramework.frameworkID.value)
        #expect(shutdowns == ["m1-0001"])
        #expect(s.core.tasks.isEmpty)
        #expect(s.core.frameworks["m1-0001"] == nil)
        #expect(s.core.allocator.free(on: "m1-S1") == S.bag("cpus:2;mem:1024"))

        // Nor may it subscribe again under that ID.
        let refused = s.subscribeRaw(peer: PeerID("f"), info: info)
        #expect(S.events(refused, to: PeerID("f")).map(\.type) == [.error])
        #expect(s.core.frameworks["m1-0001"] == nil)
    }

    @Test func goneAndUnreachableAgentsKeepTheirStateAcrossARestart() throws {
        var registry = RegistrySnapshot()
        for id in ["m1-S1", "m1-S2"] {
            registry.apply(.admitAgent(id, hostname: id, info: S.agentInfo(hostname: id, resources: "cpus:2;mem:1024", id: id)))
        }
        registry.apply(.markAgentUnreachable("m1-S1", since: 900))
        registry.apply(.markAgentGone("m1-S2"))
        let aware = S.frameworkInfo(name: "aware", partitionAware: true, failoverTimeout: 60, id: "m1-0001")
        registry.apply(.upsertFramework("m1-0001", info: aware))

        var (s, _) = Self.restarted(from: registry, startedAt: 1_000)
        #expect(s.core.recoveringAgents.isEmpty)
        #expect(s.core.recoveryDeadline == nil)
        #expect(s.core.agents["m1-S1"]?.unreachableSince == .seconds(-100))
        #expect(s.core.agents["m1-S2"] == nil)
        #expect(s.core.goneAgents == ["m1-S2"])
        #expect(s.core.stateView(now: s.now).agents.first?.unreachableSince == 900)

        // A partition-aware framework re-subscribing hears that the agent is lost, and
        // its tasks there reconcile as unreachable; on the gone agent, as gone.
        let subscribed = s.subscribeRaw(peer: PeerID("f"), info: aware)
        #expect(S.events(subscribed, to: PeerID("f")).filter { $0.type == .failure }.map(\.failure.agentID.value) == ["m1-S1"])
        s.frameworkPeers["m1-0001"] = PeerID("f")
        let answers = Self.reconcile(&s, "m1-0001", [("t1", "m1-S1"), ("t2", "m1-S2")])
        #expect(answers.map(\.state) == [.taskUnreachable, .taskGone])

        // The gone agent is told to shut down; the unreachable one is admitted again.
        let gone = Self.reregister(&s, "m1-S2", peer: "a2", hostname: "m1-S2")
        #expect(S.envelopes(gone, to: PeerID("a2")).contains { if case .shutdownAgent = $0.payload { true } else { false } })
        let back = Self.reregister(&s, "m1-S1", peer: "a1", hostname: "m1-S1")
        #expect(S.envelopes(back, to: PeerID("a1")).contains(where: { $0.isAgentReregistered }))
        #expect(Self.persisted(back) == [.admitAgent("m1-S1", hostname: "m1-S1",
                                                     info: S.agentInfo(hostname: "m1-S1", resources: "cpus:2;mem:1024", id: "m1-S1"))])
        #expect(s.core.agents["m1-S1"]?.isReachable == true)
    }

    @Test func givenWeightsReplaceAndAreStoredOtherwiseStoredWeightsApply() throws {
        var registry = RegistrySnapshot()
        registry.apply(.setWeights(RoleWeights(["ops": 3])))

        let (stored, storedRecovery) = Self.restarted(from: registry)
        #expect(stored.core.allocator.configuration.weights == RoleWeights(["ops": 3]))
        #expect(!Self.persisted(storedRecovery).contains { if case .setWeights = $0 { true } else { false } })

        let (given, givenRecovery) = Self.restarted(from: registry) { $0.givenWeights = RoleWeights(["dev": 2]) }
        #expect(given.core.allocator.configuration.weights == RoleWeights(["dev": 2]))
        #expect(Self.persisted(givenRecovery).contains(.setWeights(RoleWeights(["dev": 2]))))

        // Given weights equal to the stored ones need no write.
        let (_, same) = Self.restarted(from: registry) { $0.givenWeights = RoleWeights(["ops": 3]) }
        #expect(!Self.persisted(same).contains { if case .setWeights = $0 { true } else { false } })
    }

    @Test func anEmptyRegistryOnlyRecordsTheRun() {
        let (s, recovery) = Self.restarted(from: RegistrySnapshot(), runID: "fresh", startedAt: 42)
        #expect(Self.persisted(recovery) == [.recordMasterRun("fresh", startedAt: 42)])
        #expect(s.core.recoveryDeadline == nil)
        #expect(s.core.agents.isEmpty && s.core.frameworks.isEmpty)
    }

    @Test func aRunIDUsedBeforeIsNeverReused() {
        #expect(MasterServer.unusedRunID("abc", used: []) == "abc")
        #expect(MasterServer.unusedRunID("abc", used: ["abc"]) == "abc-2")
        #expect(MasterServer.unusedRunID("abc", used: ["abc", "abc-2", "abc-3"]) == "abc-4")
    }
}
