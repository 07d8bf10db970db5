import AgoraProto
import Resources
import Testing
@testable import Simulator

struct SimulationProgressTests {
    @Test func readyNeedsRegisteredAgentsASubscribedFrameworkAndEveryTaskRunning() {
        var progress = SimulationProgress(agentCount: 2, expectedTasks: 2, startedAt: 100)
        #expect(progress.allAgentsRegistered(masterID: "m1", isFirstMaster: true, at: 103)
            == [.agentsRegistered(masterID: "m1", agents: 2, afterFailover: false, at: 103, secondsSinceStart: 3)])
        #expect(progress.frameworkSubscribed(frameworkID: "F", masterID: "m1", at: 104)
            == [.frameworkSubscribed(frameworkID: "F", masterID: "m1", at: 104)])
        #expect(progress.offersReceived(at: 105) == [.offersFlowing(masterID: "m1", at: 105)])
        #expect(progress.offersReceived(at: 106).isEmpty)
        #expect(progress.taskRunning("a", at: 107).isEmpty)
        #expect(progress.taskRunning("a", at: 108).isEmpty)  // a repeated update counts once
        #expect(progress.taskRunning("b", at: 109)
            == [.tasksRunning(tasks: 2, at: 109, secondsSinceSubscribed: 5),
                .ready(agents: 2, tasks: 2, frameworkID: "F", masterID: "m1")])
    }

    @Test func aFailoverCompletesWhenBothTheLastAgentAndTheFirstOfferAreBack() {
        var progress = SimulationProgress(agentCount: 1, expectedTasks: 0, startedAt: 0)
        _ = progress.allAgentsRegistered(masterID: "m1", isFirstMaster: true, at: 1)
        #expect(progress.frameworkSubscribed(frameworkID: "F", masterID: "m1", at: 2).contains(
            .ready(agents: 1, tasks: 0, frameworkID: "F", masterID: "m1")))
        _ = progress.offersReceived(at: 3)

        // The new master: offers come back before the last agent does.
        _ = progress.frameworkSubscribed(frameworkID: "F", masterID: "m2", at: 10)
        #expect(progress.offersReceived(at: 10.5) == [.offersFlowing(masterID: "m2", at: 10.5)])
        #expect(progress.allAgentsRegistered(masterID: "m2", isFirstMaster: false, at: 11)
            == [.agentsRegistered(masterID: "m2", agents: 1, afterFailover: true, at: 11, secondsSinceStart: 11),
                .failoverComplete(masterID: "m2", at: 11, agentsAt: 11, offersAt: 10.5)])
        #expect(progress.offersReceived(at: 12).isEmpty)
    }

    @Test func reportsAreSingleLineJSON() {
        let line = SimulationReport.failoverComplete(masterID: "m2", at: 11, agentsAt: 11, offersAt: 10.5).jsonLine
        #expect(line == #"{"agents_unix":11,"event":"failover_complete","master_id":"m2","offers_unix":10.5,"unix":11}"#)
        #expect(SimulationReport.ready(agents: 3, tasks: 6, frameworkID: "F", masterID: "m").jsonLine
            == #"{"agents":3,"framework_id":"F","master_id":"m","ready":true,"tasks":6}"#)
    }
}

struct LaunchPlannerTests {
    static func offer(_ id: String, agent: String, resources: String) throws -> Agora_V1_Offer {
        var offer = Agora_V1_Offer()
        offer.id.value = id
        offer.agentID.value = agent
        offer.resources = try Resources(parsing: resources).proto
        return offer
    }

    @Test func launchesUpToTheTasksPerAgentThatFitThenNothingMoreOnThatAgent() throws {
        var planner = LaunchPlanner(tasksPerAgent: 3, taskResources: try Resources(parsing: "cpus:1;mem:32"))
        let small = try planner.tasks(for: Self.offer("o1", agent: "A", resources: "cpus:2;mem:1024"))
        #expect(small.map(\.taskID.value) == ["A-task-0", "A-task-1"])
        #expect(small.allSatisfy { $0.agentID.value == "A" && $0.hasCommand })
        let rest = try planner.tasks(for: Self.offer("o2", agent: "A", resources: "cpus:8;mem:1024"))
        #expect(rest.map(\.taskID.value) == ["A-task-2"])
        #expect(try planner.tasks(for: Self.offer("o3", agent: "A", resources: "cpus:8;mem:1024")).isEmpty)
        #expect(try planner.tasks(for: Self.offer("o4", agent: "B", resources: "cpus:8;mem:1024")).count == 3)
        #expect(planner.launchedCount == 6)
    }

    @Test func optionsRefuseMoreTasksThanFitOnAnAgent() throws {
        let fleet = try FleetConfiguration(agentCount: 1, connectionCount: 1, resources: try Resources(parsing: "cpus:1;mem:64"),
                                           runNonce: 1)
        let error = #expect(throws: SimulationError.self) {
            _ = try SimulationOptions(masterAddress: "tcp://127.0.0.1:1", fleet: fleet, tasksPerAgent: 3,
                                      taskResources: try Resources(parsing: "cpus:0.5;mem:16"))
        }
        #expect(error?.message.contains("do not fit") == true)
        #expect(throws: Never.self) {
            _ = try SimulationOptions(masterAddress: "tcp://127.0.0.1:1", fleet: fleet, tasksPerAgent: 2,
                                      taskResources: try Resources(parsing: "cpus:0.5;mem:16"))
        }
    }
}
