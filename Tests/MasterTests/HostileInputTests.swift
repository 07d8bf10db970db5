import AgoraProto
import Foundation
@testable import Master
import Messaging
import Resources
import Testing

/// Seeded mutation testing of envelope decoding and the master's message handling,
/// and messages that name someone else.
///
/// Every input is derived from a seed, so a failure is replayable; the count of
/// inputs tried is printed. Set `AGORA_FUZZ_INPUTS` to try more.
struct HostileInputTests {
    @Test func mutatedEnvelopesNeverCrashTheMasterNorBreakItsBooks() async throws {
        let inputs = ProcessInfo.processInfo.environment["AGORA_FUZZ_INPUTS"].flatMap(Int.init) ?? 20_000
        var random = SplitMix64(seed: 0xA60_2A)
        var scenario = MasterScenario { $0.agentPingTimeout = .seconds(1) }
        let agentA = try scenario.registerAgent("agent-a", resources: "cpus:4;mem:4096;ports:[31000-31100]")
        let agentB = try scenario.registerAgent("agent-b", resources: "cpus:2;mem:2048")
        let framework = try scenario.subscribe("framework", partitionAware: true, failoverTimeout: 60)
        let offer = try #require(scenario.offers(scenario.allocate(), to: framework).first)
        _ = scenario.accept(framework, offers: [offer.id.value], tasks: [MasterScenario.task("t1")])

        let seeds = Self.seedEnvelopes(agentA: agentA, agentB: agentB, framework: framework, offerID: offer.id.value)
        let peers = [scenario.agentPeers[agentA]!, scenario.agentPeers[agentB]!, scenario.frameworkPeers[framework]!,
                     PeerID("stranger")]
        var decoded = 0
        for step in 0..<inputs {
            let original = seeds[Int(random.next() % UInt64(seeds.count))]
            let bytes = Self.mutate((try? original.serializedBytes()) ?? [], &random)
            guard let envelope = try? Agora_V1_Envelope(serializedBytes: bytes) else { continue }
            decoded += 1
            let peer = peers[Int(random.next() % UInt64(peers.count))]
            _ = scenario.handle(envelope, from: peer)
            if step % 97 == 0 {
                await Task.yield()  // long and CPU-bound: let other tests run meanwhile
                scenario.now += .milliseconds(300)
                _ = scenario.tick()
                _ = scenario.allocate()
            }
            // The books balance on every agent after every input.
            for agent in scenario.core.agents.values {
                let used = scenario.core.used(on: agent.id)
                let offered = scenario.core.offered(on: agent.id)
                let free = scenario.core.allocator.free(on: agent.id) ?? Resources()
                #expect(used + offered + free == agent.total,
                        "step \(step): agent \(agent.id) used \(used) + offered \(offered) + free \(free) != \(agent.total)")
                if used + offered + free != agent.total { return }
            }
        }
        print("hostile input: \(inputs) mutated envelopes tried, \(decoded) decoded and handled, no crash")
        #expect(decoded > inputs / 20, "the mutations should leave many inputs decodable")
    }

    @Test func aFrameworkUsingAnotherFrameworksIDIsRefusedAndCounted() throws {
        var scenario = MasterScenario()
        _ = try scenario.registerAgent("agent")
        let victim = try scenario.subscribe("victim")
        let before = scenario.core.counters.misaddressedMessages
        var teardown = Agora_V1_Scheduler_Call()
        teardown.type = .teardown
        teardown.frameworkID.value = victim
        let directives = scenario.call(teardown, from: PeerID("impostor"))
        let errors = MasterScenario.events(directives, to: PeerID("impostor")).filter { $0.type == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.error.message.contains("another connection") == true)
        #expect(scenario.core.frameworks[victim] != nil, "the victim must not be torn down")
        #expect(scenario.core.counters.misaddressedMessages == before + 1)
    }

    @Test func anAgentReportingAnotherAgentsTasksIsRefusedAndCounted() throws {
        var scenario = MasterScenario()
        let agentA = try scenario.registerAgent("agent-a")
        let agentB = try scenario.registerAgent("agent-b")
        let framework = try scenario.subscribe("framework")
        let offer = try #require(scenario.offers(scenario.allocate(), to: framework).first)
        _ = scenario.accept(framework, offers: [offer.id.value], tasks: [MasterScenario.task("t1")])
        let runsOn = offer.agentID.value
        let other = runsOn == agentA ? agentB : agentA

        // The other agent, from its own connection, claims the task finished.
        var update = Agora_V1_StatusUpdate()
        update.agentID.value = other
        update.frameworkID.value = framework
        update.status.taskID.value = "t1"
        update.status.state = .taskFinished
        update.status.uuid = MasterScenario.uuid(9)
        var envelope = Agora_V1_Envelope()
        envelope.statusUpdate = update
        let before = scenario.core.counters.misaddressedMessages
        let directives = scenario.handle(envelope, from: scenario.agentPeers[other]!)
        #expect(scenario.updates(directives, to: framework).isEmpty, "the framework must not hear it")
        #expect(scenario.core.tasks[TaskKey(frameworkID: framework, taskID: "t1")]?.state == .taskStaging)
        #expect(scenario.core.counters.misaddressedMessages == before + 1)

        // And a connection speaking for an agent registered elsewhere is refused.
        update.agentID.value = runsOn
        envelope.statusUpdate = update
        let refused = scenario.handle(envelope, from: scenario.agentPeers[other]!)
        #expect(MasterScenario.envelopes(refused, to: scenario.agentPeers[other]!).contains {
            if case .refused = $0.payload { return true }
            return false
        })
        #expect(scenario.core.tasks[TaskKey(frameworkID: framework, taskID: "t1")]?.state == .taskStaging)
    }

    // MARK: - Inputs

    /// Valid messages of every kind the master accepts, to mutate.
    static func seedEnvelopes(agentA: AgentID, agentB: AgentID, framework: FrameworkID, offerID: String) -> [Agora_V1_Envelope] {
        var envelopes: [Agora_V1_Envelope] = []
        func add(_ fill: (inout Agora_V1_Envelope) -> Void) {
            var envelope = Agora_V1_Envelope()
            fill(&envelope)
            envelopes.append(envelope)
        }
        for type in [Agora_V1_Scheduler_Call.TypeEnum.accept, .decline, .kill, .acknowledge, .reconcile, .revive,
                     .suppress, .message, .subscribe, .teardown, .updateFramework] {
            add { envelope in
                var call = Agora_V1_Scheduler_Call()
                call.type = type
                call.frameworkID.value = framework
                call.accept.offerIds = [Agora_V1_OfferID.with { $0.value = offerID }]
                var operation = Agora_V1_Offer.Operation()
                operation.type = .launch
                var task = Agora_V1_TaskInfo()
                task.taskID.value = "fuzz"
                task.agentID.value = agentA
                task.command.value = "true"
                task.resources = (try? Resources(parsing: "cpus:0.5;mem:64;ports:[31000-31001]"))?.proto ?? []
                operation.launch.taskInfos = [task]
                call.accept.operations = [operation]
                call.decline.offerIds = call.accept.offerIds
                call.kill.taskID.value = "t1"
                call.acknowledge.taskID.value = "t1"
                call.acknowledge.agentID.value = agentA
                call.acknowledge.uuid = Data(repeating: 1, count: 16)
                call.subscribe.frameworkInfo.name = "fuzz"
                call.subscribe.frameworkInfo.id.value = framework
                call.updateFramework.frameworkInfo.id.value = framework
                call.updateFramework.frameworkInfo.roles = ["*", "ops"]
                envelope.schedulerCall = call
            }
        }
        for agent in [agentA, agentB] {
            add { envelope in
                envelope.statusUpdate.agentID.value = agent
                envelope.statusUpdate.frameworkID.value = framework
                envelope.statusUpdate.status.taskID.value = "t1"
                envelope.statusUpdate.status.state = .taskRunning
                envelope.statusUpdate.status.uuid = Data(repeating: 2, count: 16)
            }
            add { $0.pong.agentID.value = agent; $0.pong.sequence = 1 }
            add { envelope in
                envelope.reregisterAgent.agentInfo.id.value = agent
                envelope.reregisterAgent.agentInfo.hostname = "h"
                envelope.reregisterAgent.agentInfo.resources = (try? Resources(parsing: "cpus:2;mem:1024"))?.proto ?? []
                var task = Agora_V1_Task()
                task.taskID.value = "t1"
                task.frameworkID.value = framework
                task.state = .taskRunning
                envelope.reregisterAgent.tasks = [task]
            }
            add { envelope in
                envelope.exitedExecutor.agentID.value = agent
                envelope.exitedExecutor.frameworkID.value = framework
                envelope.exitedExecutor.executorID.value = "t1"
            }
        }
        add { envelope in
            envelope.registerAgent.agentInfo.hostname = "new"
            envelope.registerAgent.agentInfo.resources = (try? Resources(parsing: "cpus:1;mem:512"))?.proto ?? []
        }
        return envelopes
    }

    /// Bit flips, byte changes, truncation, insertion and splicing.
    static func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        // Mostly one change, sometimes several: one keeps many inputs decodable.
        let changes = random.next() % 4 == 0 ? 2 + Int(random.next() % 3) : 1
        for _ in 0..<changes {
            guard !bytes.isEmpty else { return [UInt8(truncatingIfNeeded: random.next())] }
            let index = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 5 {
            case 0: bytes[index] ^= UInt8(1) << (random.next() % 8)
            case 1: bytes[index] = UInt8(truncatingIfNeeded: random.next())
            case 2: bytes.removeSubrange(index...)
            case 3: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: index)
            default:
                let length = min(bytes.count - index, Int(random.next() % 8) + 1)
                bytes.append(contentsOf: bytes[index..<index + length])
            }
        }
        return bytes
    }
}
