import AgoraProto
import Foundation
import Resources
import Testing
@testable import Simulator

/// The simulated agents driven directly: no sockets, a manual clock.
struct AgentFleetTests {
    static func fleet(agents: Int = 4, connections: Int = 2) throws -> AgentFleet {
        let configuration = try FleetConfiguration(agentCount: agents, connectionCount: connections,
                                                   resources: try Resources(parsing: "cpus:16;mem:65536"), runNonce: 7)
        return AgentFleet(configuration: configuration)
    }

    static func sends(_ directives: [FleetDirective]) -> [(Agora_V1_Envelope, Int)] {
        directives.compactMap { directive -> (Agora_V1_Envelope, Int)? in
            switch directive {
            case .send(let envelope, let connection): (envelope, connection)
            case .sendEncoded(let bytes, let connection): (try? Agora_V1_Envelope(serializedBytes: bytes)).map { ($0, connection) }
            default: nil
            }
        }
    }

    static func master(_ id: String) -> Agora_V1_MasterInfo {
        var info = Agora_V1_MasterInfo()
        info.id = id
        return info
    }

    /// Connects every connection and answers every registration as master `masterID`.
    static func registerAll(_ fleet: inout AgentFleet, masterID: String = "m1") -> [FleetDirective] {
        var answers: [FleetDirective] = []
        for connection in 0..<fleet.configuration.connectionCount {
            for (envelope, _) in sends(fleet.connected(connection, now: .zero)) {
                var reply = Agora_V1_AgentRegistered()
                reply.agentID.value = "\(masterID)-S\(envelope.registerAgent.registrationToken.split(separator: "-").last!)"
                reply.registrationToken = envelope.registerAgent.registrationToken
                reply.masterInfo = master(masterID)
                var answer = Agora_V1_Envelope()
                answer.agentRegistered = reply
                answers += fleet.handle(answer, connection: connection, now: .zero)
            }
        }
        return answers
    }

    static func runTask(_ taskID: String, on agentID: String, framework: String = "F1") -> Agora_V1_Envelope {
        var run = Agora_V1_RunTask()
        run.agentID.value = agentID
        run.frameworkInfo.id.value = framework
        run.frameworkInfo.name = "sim"
        run.task.taskID.value = taskID
        run.task.name = taskID
        run.task.agentID.value = agentID
        run.task.resources = (try? Resources(parsing: "cpus:0.1;mem:32").proto) ?? []
        var envelope = Agora_V1_Envelope()
        envelope.runTask = run
        return envelope
    }

    static func acknowledgement(of update: Agora_V1_StatusUpdate) -> Agora_V1_Envelope {
        var ack = Agora_V1_StatusUpdateAcknowledgement()
        ack.agentID = update.agentID
        ack.frameworkID = update.frameworkID
        ack.taskID = update.status.taskID
        ack.uuid = update.status.uuid
        var envelope = Agora_V1_Envelope()
        envelope.statusUpdateAcknowledgement = ack
        return envelope
    }

    @Test func agentsShareConnectionsAndRegisterWithDistinctTokensWhenTheirConnectionComesUp() throws {
        var fleet = try Self.fleet(agents: 5, connections: 2)
        let first = Self.sends(fleet.connected(0, now: .zero))
        #expect(first.map(\.1) == [0, 0, 0])
        #expect(first.allSatisfy { $0.0.registerAgent.agentInfo.resources == fleet.configuration.resources.proto })
        let second = Self.sends(fleet.connected(1, now: .zero))
        #expect(second.map(\.1) == [1, 1])
        let tokens = Set((first + second).map(\.0.registerAgent.registrationToken))
        let hostnames = Set((first + second).map(\.0.registerAgent.agentInfo.hostname))
        #expect(tokens.count == 5 && hostnames.count == 5)
    }

    @Test func everyAgentRegisteredIsReportedOnceAsTheFirstMaster() throws {
        var fleet = try Self.fleet()
        let directives = Self.registerAll(&fleet)
        #expect(directives == [.allRegistered(masterID: "m1", isFirstMaster: true)])
        #expect(fleet.registeredCount == 4)
        #expect(fleet.agentID(of: 2) == "m1-S2")
    }

    @Test func anUnansweredRegistrationIsRetriedWithBackoffAndALateDuplicateAnswerIsIgnored() throws {
        var fleet = try Self.fleet(agents: 1, connections: 1)
        let sent = Self.sends(fleet.connected(0, now: .zero))
        let token = sent[0].0.registerAgent.registrationToken
        // Retries as a real agent's: after 2 s, then 4 s (each up to half longer by the
        // jitter), always with the same token.
        var retries: [Int] = []
        for millis in stride(from: 100, through: 9_000, by: 100) {
            let retry = Self.sends(fleet.tick(now: .milliseconds(millis)))
            #expect(retry.allSatisfy { $0.0.registerAgent.registrationToken == token })
            if !retry.isEmpty { retries.append(millis) }
        }
        #expect(retries.count == 2, "retries at \(retries) ms")
        if retries.count == 2 {
            #expect((2_000...3_100).contains(retries[0]))
            #expect((4_000...6_100).contains(retries[1] - retries[0]))
        }

        var reply = Agora_V1_AgentRegistered()
        reply.agentID.value = "A"
        reply.registrationToken = token
        reply.masterInfo = Self.master("m1")
        var answer = Agora_V1_Envelope()
        answer.agentRegistered = reply
        #expect(fleet.handle(answer, connection: 0, now: .seconds(9)) == [.allRegistered(masterID: "m1", isFirstMaster: true)])
        #expect(fleet.handle(answer, connection: 0, now: .seconds(9)).isEmpty)
        #expect(fleet.counters.ignoredMessages == 1)
        #expect(Self.sends(fleet.tick(now: .seconds(60))).isEmpty)
    }

    @Test func pingsAreAnsweredOnTheAgentsConnection() throws {
        var fleet = try Self.fleet()
        _ = Self.registerAll(&fleet)
        var ping = Agora_V1_Ping()
        ping.agentID.value = "m1-S3"
        ping.sequence = 9
        ping.connected = true
        var envelope = Agora_V1_Envelope()
        envelope.ping = ping
        let sent = Self.sends(fleet.handle(envelope, connection: 1, now: .seconds(1)))
        #expect(sent.count == 1)
        #expect(sent[0].0.pong.agentID.value == "m1-S3" && sent[0].0.pong.sequence == 9 && sent[0].1 == 1)
    }

    @Test func aLaunchedTaskReportsRunningUntilAcknowledged() throws {
        var fleet = try Self.fleet()
        _ = Self.registerAll(&fleet)
        let sent = Self.sends(fleet.handle(Self.runTask("t1", on: "m1-S1"), connection: 1, now: .seconds(1)))
        #expect(sent.count == 1)
        let update = sent[0].0.statusUpdate
        #expect(update.status.state == .taskRunning && update.status.uuid.count == 16)
        #expect(update.frameworkID.value == "F1" && update.agentID.value == "m1-S1"
                && update.status.executorID.value == "agora-commands-1")
        #expect(fleet.activeTaskCount == 1)
        #expect(fleet.taskIDs(of: 1) == ["t1"])

        // Not acknowledged: resent after the agent's first retry interval (10 s), same UUID.
        #expect(Self.sends(fleet.tick(now: .seconds(10))).isEmpty)
        let retried = Self.sends(fleet.tick(now: .seconds(11)))
        #expect(retried.map(\.0.statusUpdate.status.uuid) == [update.status.uuid])

        #expect(Self.sends(fleet.handle(Self.acknowledgement(of: update), connection: 1, now: .seconds(12))).isEmpty)
        #expect(Self.sends(fleet.tick(now: .seconds(100))).isEmpty)
        // A second launch of the same task is ignored.
        #expect(Self.sends(fleet.handle(Self.runTask("t1", on: "m1-S1"), connection: 1, now: .seconds(13))).isEmpty)
    }

    @Test func afterAReconnectionAgentsReregisterWithTheirTasksAndTheNewMasterIsReported() throws {
        var fleet = try Self.fleet(agents: 2, connections: 1)
        _ = Self.registerAll(&fleet)
        let running = Self.sends(fleet.handle(Self.runTask("t1", on: "m1-S0"), connection: 0, now: .seconds(1)))
        _ = fleet.handle(Self.acknowledgement(of: running[0].0.statusUpdate), connection: 0, now: .seconds(1))
        _ = fleet.handle(Self.runTask("t2", on: "m1-S0"), connection: 0, now: .seconds(1))  // left unacknowledged

        let sent = Self.sends(fleet.connected(0, now: .seconds(5)))
        #expect(sent.count == 2)
        let report = try #require(sent.first { $0.0.reregisterAgent.agentInfo.id.value == "m1-S0" }).0.reregisterAgent
        #expect(report.tasks.map(\.taskID.value) == ["t1", "t2"])
        #expect(report.tasks.allSatisfy { $0.state == .taskRunning && $0.frameworkID.value == "F1" })
        #expect(report.tasks[1].statusUpdateState == .taskRunning && !report.tasks[1].statusUpdateUuid.isEmpty)
        #expect(report.tasks[0].statusUpdateUuid.isEmpty)
        #expect(report.frameworks.map(\.id.value) == ["F1"])
        #expect(report.executorInfos.map(\.executorID.value) == ["agora-commands-1"], "one shared command executor")
        #expect(fleet.registeredCount == 0)

        var directives: [FleetDirective] = []
        for id in ["m1-S0", "m1-S1"] {
            var reply = Agora_V1_AgentReregistered()
            reply.agentID.value = id
            reply.masterInfo = Self.master("m2")
            var envelope = Agora_V1_Envelope()
            envelope.agentReregistered = reply
            directives += fleet.handle(envelope, connection: 0, now: .seconds(6))
        }
        // The unacknowledged update goes to the new master at once.
        #expect(Self.sends(directives).map(\.0.statusUpdate.status.taskID.value) == ["t2"])
        #expect(directives.contains(.allRegistered(masterID: "m2", isFirstMaster: false)))
    }

    @Test func aReportEncodedOnceIsSentAgainOnlyWhileNothingChanged() throws {
        var fleet = try Self.fleet(agents: 1, connections: 1)
        _ = Self.registerAll(&fleet)
        let running = Self.sends(fleet.handle(Self.runTask("t1", on: "m1-S0"), connection: 0, now: .seconds(1)))
        _ = fleet.handle(Self.acknowledgement(of: running[0].0.statusUpdate), connection: 0, now: .seconds(1))

        // Reconnections with nothing changed in between re-send the same encoded report.
        let first = fleet.connected(0, now: .seconds(5))
        let second = fleet.connected(0, now: .seconds(6))
        guard case .sendEncoded(let firstBytes, _)? = first.first, case .sendEncoded(let secondBytes, _)? = second.first else {
            Issue.record("re-registrations are sent encoded: \(first), \(second)")
            return
        }
        #expect(firstBytes == secondBytes)

        // A new task changes the report.
        _ = fleet.handle(Self.runTask("t2", on: "m1-S0"), connection: 0, now: .seconds(7))
        let report = Self.sends(fleet.connected(0, now: .seconds(8)))[0].0.reregisterAgent
        #expect(report.tasks.map(\.taskID.value) == ["t1", "t2"])
    }

    @Test func reportsEncodedAheadAreOnlyThoseOfSettledAgents() throws {
        var fleet = try Self.fleet(agents: 2, connections: 1)
        _ = Self.registerAll(&fleet)
        let running = Self.sends(fleet.handle(Self.runTask("t1", on: "m1-S0"), connection: 0, now: .seconds(1)))
        _ = fleet.handle(Self.runTask("t2", on: "m1-S1"), connection: 0, now: .seconds(1))
        _ = fleet.handle(Self.acknowledgement(of: running[0].0.statusUpdate), connection: 0, now: .seconds(1))

        // Agent 0's update was acknowledged: its report is encoded ahead. Agent 1 still
        // waits for an acknowledgement, so its report would change: it is not.
        fleet.encodeReportsAhead(limit: 10)
        #expect(fleet.agents[0].encodedReport != nil)
        #expect(fleet.agents[1].encodedReport == nil)
        let ahead = try #require(fleet.agents[0].encodedReport)
        let report = try Agora_V1_Envelope(serializedBytes: ahead).reregisterAgent
        #expect(report.agentInfo.id.value == "m1-S0" && report.tasks.map(\.taskID.value) == ["t1"])

        // A reconnection sends the bytes encoded ahead.
        let sent = fleet.connected(0, now: .seconds(5))
        #expect(sent.contains(.sendEncoded(ahead, connection: 0)))

        // The limit bounds the work per call.
        var other = try Self.fleet(agents: 3, connections: 1)
        _ = Self.registerAll(&other)
        other.encodeReportsAhead(limit: 2)
        #expect(other.agents.count { $0.encodedReport != nil } == 2)
        other.encodeReportsAhead(limit: 2)
        #expect(other.agents.allSatisfy { $0.encodedReport != nil })
    }

    @Test func aRefusalNamingTheAgentMakesItReregister() throws {
        var fleet = try Self.fleet(agents: 1, connections: 1)
        _ = Self.registerAll(&fleet)
        var refused = Agora_V1_Refused()
        refused.agentID.value = "m1-S0"
        refused.reason = "the master restarted; agent m1-S0 must re-register"
        var envelope = Agora_V1_Envelope()
        envelope.refused = refused
        let sent = Self.sends(fleet.handle(envelope, connection: 0, now: .seconds(3)))
        #expect(sent.map(\.0.reregisterAgent.agentInfo.id.value) == ["m1-S0"])
    }

    @Test func aKilledTaskReportsKilledAndIsForgottenOnceAcknowledged() throws {
        var fleet = try Self.fleet(agents: 1, connections: 1)
        _ = Self.registerAll(&fleet)
        let running = Self.sends(fleet.handle(Self.runTask("t1", on: "m1-S0"), connection: 0, now: .seconds(1)))[0].0
        var kill = Agora_V1_KillTask()
        kill.agentID.value = "m1-S0"
        kill.frameworkID.value = "F1"
        kill.taskID.value = "t1"
        var envelope = Agora_V1_Envelope()
        envelope.killTask = kill
        // The kill's update waits behind the unacknowledged RUNNING, as on a real agent.
        #expect(Self.sends(fleet.handle(envelope, connection: 0, now: .seconds(2))).isEmpty)
        #expect(fleet.activeTaskCount == 0)
        let killed = Self.sends(fleet.handle(Self.acknowledgement(of: running.statusUpdate), connection: 0, now: .seconds(3)))
        #expect(killed.map(\.0.statusUpdate.status.state) == [.taskKilled])
        #expect(killed.map(\.0.statusUpdate.latestState) == [.taskKilled])
        _ = fleet.handle(Self.acknowledgement(of: killed[0].0.statusUpdate), connection: 0, now: .seconds(4))
        #expect(fleet.taskIDs(of: 0).isEmpty)
        let report = Self.sends(fleet.connected(0, now: .seconds(5)))[0].0.reregisterAgent
        #expect(report.tasks.isEmpty && report.frameworks.isEmpty)
    }

    @Test(arguments: [(0, 1), (3, 0)])
    func countsOutOfRangeAreRefusedWithTheFlagNamed(agents: Int, connections: Int) throws {
        let error = #expect(throws: SimulationError.self) {
            _ = try FleetConfiguration(agentCount: agents, connectionCount: connections,
                                       resources: try Resources(parsing: "cpus:1"), runNonce: 1)
        }
        #expect(error?.message.contains(agents < 1 ? "--agents" : "--connections") == true)
    }
}
