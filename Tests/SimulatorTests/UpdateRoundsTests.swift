import AgoraProto
import Foundation
import Resources
import Testing
@testable import Simulator

/// Update rounds driven directly on the fleet: no sockets, a manual clock.
struct UpdateRoundsTests {
    typealias Fleet = AgentFleetTests

    /// A fleet of `agents` registered agents with `tasks` tasks each; the launch updates
    /// are returned unacknowledged, by task ID.
    static func fleetWithTasks(agents: Int, tasks: Int) throws -> (AgentFleet, [String: Agora_V1_StatusUpdate]) {
        var fleet = try Fleet.fleet(agents: agents, connections: 1)
        _ = Fleet.registerAll(&fleet)
        var launched: [String: Agora_V1_StatusUpdate] = [:]
        for agent in 0..<agents {
            for task in 0..<tasks {
                let sent = Fleet.sends(fleet.handle(Fleet.runTask("a\(agent)-t\(task)", on: "m1-S\(agent)"),
                                                    connection: 0, now: .seconds(1)))
                for (envelope, _) in sent { launched[envelope.statusUpdate.status.taskID.value] = envelope.statusUpdate }
            }
        }
        return (fleet, launched)
    }

    @Test func everyTaskSendsItsRoundsOneUnacknowledgedUpdateAtATimeThenCompletionIsReportedOnce() throws {
        var (fleet, launched) = try Self.fleetWithTasks(agents: 2, tasks: 2)
        // One launch update is acknowledged before the rounds start; the others after.
        _ = fleet.handle(Fleet.acknowledgement(of: launched["a0-t0"]!), connection: 0, now: .seconds(2))

        var directives = fleet.startUpdateRounds(3, now: .seconds(3))
        #expect(Fleet.sends(directives).map(\.0.statusUpdate.status.taskID.value) == ["a0-t0"])
        #expect(fleet.updateRoundsProgress?.total == 12 && fleet.updateRoundsProgress?.outstanding == 12)
        #expect(fleet.updateRoundsProgress?.envelopeBytes ?? 0 > 0)
        for task in ["a0-t1", "a1-t0", "a1-t1"] {
            directives += fleet.handle(Fleet.acknowledgement(of: launched[task]!), connection: 0, now: .seconds(3))
        }

        var roundUpdates: [Agora_V1_StatusUpdate] = []
        var completions: [FleetDirective] = []
        var inFlight = Fleet.sends(directives).map(\.0.statusUpdate)
        while !inFlight.isEmpty {
            // Never two unacknowledged updates of one task.
            #expect(Set(inFlight.map(\.status.taskID.value)).count == inFlight.count)
            roundUpdates += inFlight
            var next: [Agora_V1_StatusUpdate] = []
            for update in inFlight {
                let answer = fleet.handle(Fleet.acknowledgement(of: update), connection: 0, now: .seconds(4))
                next += Fleet.sends(answer).map(\.0.statusUpdate)
                completions += answer.filter { if case .updateRoundsComplete = $0 { true } else { false } }
            }
            inFlight = next
        }
        #expect(roundUpdates.count == 12)
        #expect(Dictionary(grouping: roundUpdates, by: \.status.taskID.value).mapValues(\.count)
                == ["a0-t0": 3, "a0-t1": 3, "a1-t0": 3, "a1-t1": 3])
        #expect(roundUpdates.allSatisfy {
            $0.status.state == .taskRunning && $0.status.healthy && $0.status.reason == .taskHealthCheckStatusUpdated
        })
        #expect(Set(roundUpdates.map(\.status.uuid)).count == 12)
        #expect(completions == [.updateRoundsComplete(updates: 12)])
        #expect(fleet.updateRoundsProgress?.outstanding == 0)
        // A duplicate acknowledgement changes nothing.
        #expect(fleet.handle(Fleet.acknowledgement(of: roundUpdates[0]), connection: 0, now: .seconds(5)).isEmpty)
    }

    @Test func anUnacknowledgedRoundUpdateIsRetriedWithTheSameUUID() throws {
        var (fleet, launched) = try Self.fleetWithTasks(agents: 1, tasks: 1)
        _ = fleet.handle(Fleet.acknowledgement(of: launched["a0-t0"]!), connection: 0, now: .seconds(2))
        let first = Fleet.sends(fleet.startUpdateRounds(2, now: .seconds(2)))
        #expect(first.count == 1)
        let retried = Fleet.sends(fleet.tick(now: .seconds(13)))
        #expect(retried.map(\.0.statusUpdate.status.uuid) == [first[0].0.statusUpdate.status.uuid])
        #expect(fleet.counters.statusUpdateRetries == 1)
    }

    @Test func aTaskKilledDuringTheRoundsGivesUpItsRemainingUpdates() throws {
        var (fleet, launched) = try Self.fleetWithTasks(agents: 1, tasks: 2)
        for update in launched.values { _ = fleet.handle(Fleet.acknowledgement(of: update), connection: 0, now: .seconds(2)) }
        let started = Fleet.sends(fleet.startUpdateRounds(5, now: .seconds(2))).map(\.0.statusUpdate)
        #expect(started.count == 2)

        var kill = Agora_V1_KillTask()
        kill.agentID.value = "m1-S0"
        kill.frameworkID.value = "F1"
        kill.taskID.value = "a0-t0"
        var envelope = Agora_V1_Envelope()
        envelope.killTask = kill
        _ = fleet.handle(envelope, connection: 0, now: .seconds(3))
        let killed = Fleet.sends(fleet.handle(Fleet.acknowledgement(of: started[0]), connection: 0, now: .seconds(3)))
        #expect(killed.map(\.0.statusUpdate.status.state) == [.taskKilled])
        // 10 updates planned; a0-t0 sent 1 of its 5 and gives up the other 4.
        #expect(fleet.updateRoundsProgress?.outstanding == 5)

        var completions: [FleetDirective] = []
        var inFlight = [started[1]]
        while let update = inFlight.popLast() {
            let answer = fleet.handle(Fleet.acknowledgement(of: update), connection: 0, now: .seconds(4))
            inFlight += Fleet.sends(answer).map(\.0.statusUpdate)
            completions += answer.filter { if case .updateRoundsComplete = $0 { true } else { false } }
        }
        #expect(completions == [.updateRoundsComplete(updates: 6)])
    }

    @Test func roundsWithoutTasksCompleteAtOnce() throws {
        var fleet = try Fleet.fleet(agents: 2, connections: 1)
        _ = Fleet.registerAll(&fleet)
        #expect(fleet.startUpdateRounds(4, now: .seconds(1)) == [.updateRoundsComplete(updates: 0)])
    }

    @Test(arguments: [(-1, 2, "--update-rounds must be 0 or more"), (3, 0, "--update-rounds needs tasks")])
    func invalidUpdateRoundsAreRefusedWithTheFlagNamed(rounds: Int, tasksPerAgent: Int, message: String) throws {
        let fleet = try FleetConfiguration(agentCount: 1, connectionCount: 1, resources: try Resources(parsing: "cpus:4;mem:4096"),
                                           runNonce: 1)
        var options = try SimulationOptions(masterAddress: "tcp://127.0.0.1:1", fleet: fleet, tasksPerAgent: tasksPerAgent,
                                            taskResources: try Resources(parsing: "cpus:0.1;mem:32"))
        let error = #expect(throws: SimulationError.self) { try options.setUpdateRounds(rounds, delay: .zero) }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }
}
