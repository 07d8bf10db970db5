import Agent
import AgoraProto
import Foundation
import Framework
import Logging
import Master
import Resources
import Synchronization
import Testing

/// A master, two agents and a scheduler in this process, on real loopback sockets
/// (the agents still start real `agora-executor` processes).
@Suite(.timeLimit(.minutes(3)))
struct InProcessClusterTests {
    @Test func fiftyTasksRunAndFinishAcrossTwoAgentsAndEveryUpdateIsAcknowledgedOnce() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("agora-inproc-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning

        var configuration = MasterConfiguration(runID: "it", hostname: "127.0.0.1", advertisedAddress: "",
                                                version: "test", startedAtUnixSeconds: Date().timeIntervalSince1970)
        configuration.allocationInterval = .milliseconds(100)
        let master = try MasterServer(configuration: configuration, bindAddress: "tcp://127.0.0.1:0",
                                      advertisedHost: "127.0.0.1", logger: logger)
        let masterTask = Task { try await master.run() }

        var agents: [AgentServer] = []
        var agentTasks: [Task<Void, any Error>] = []
        for index in 0..<2 {
            var info = Agora_V1_AgentInfo()
            info.hostname = "agent-\(index)"
            info.resources = try Resources(parsing: "cpus:2;mem:1024;" + TestPorts.resource(TestPorts.block())).proto
            var agentConfiguration = AgentConfiguration(agentInfo: info, httpAddress: "", bootID: "boot-\(index)",
                                                        version: "test", startedAtUnixSeconds: Date().timeIntervalSince1970)
            // This test is about the path without loss: no retry may fire on a machine
            // slowed by the rest of the suite (retries have tests of their own).
            agentConfiguration.statusUpdateBackoff = .seconds(600) ... .seconds(600)
            var options = AgentRuntimeOptions(agoraExecutable: AgoraBinary.url.path, workDirectory: "\(workDir)/agent-\(index)",
                                              useCgroups: false)
            // Executors (the shared command executors live on while idle) and their tasks
            // end with the test.
            options.killExecutorsOnShutdown = true
            let agent = try AgentServer(
                configuration: agentConfiguration,
                masterAddress: master.advertisedAddress,
                options: options,
                isolator: nil, logger: logger)
            await agent.begin(httpAddress: "")
            agents.append(agent)
            agentTasks.append(Task { try await agent.run() })
        }
        for agent in agents { _ = await agent.waitUntilRegistered() }

        let scheduler = BatchScheduler(taskCount: 50)
        var frameworkInfo = Agora_V1_FrameworkInfo()
        frameworkInfo.name = "fifty"
        let driver = SchedulerDriver(master: master.advertisedAddress, frameworkInfo: frameworkInfo, scheduler: scheduler,
                                     logger: logger)
        try await driver.start()
        let finished = await scheduler.waitUntilAllFinished(timeout: .seconds(120))
        let counts = await scheduler.updateCounts
        #expect(finished, "updates so far: \(counts)")

        let updates = await scheduler.updatesByTask
        #expect(updates.count == 50)
        for (taskID, states) in updates {
            #expect(states == [.taskRunning, .taskFinished], "task \(taskID) saw \(states)")
        }
        let agentsUsed = await scheduler.agentsUsed
        #expect(Set(agentsUsed).count == 2, "both agents should run tasks")

        await driver.stop()
        // Every update was acknowledged exactly once: two per task, no retries needed.
        var acknowledgements = 0
        for agent in agents { acknowledgements += await agent.counters.acknowledgements }
        #expect(acknowledgements == 100)

        // Afterwards everything is free again.
        let deadline = ContinuousClock.now + .seconds(20)
        var state = await master.currentState()
        while ContinuousClock.now < deadline,
              !state.agents.allSatisfy({ $0.used.cpus == 0 && $0.offered.cpus == 0 && $0.free.cpus == $0.total.cpus }) {
            try await Task.sleep(for: .milliseconds(50))
            state = await master.currentState()
        }
        for agent in state.agents {
            #expect(agent.used.cpus == 0 && agent.used.mem == 0, "agent \(agent.id) still uses \(agent.used.text)")
            #expect(agent.free.text == agent.total.text, "agent \(agent.id) free \(agent.free.text) of \(agent.total.text)")
        }
        #expect(state.completedTasks.filter { $0.state == "TASK_FINISHED" }.count == 50)

        for task in agentTasks { task.cancel() }
        masterTask.cancel()
        for task in agentTasks { _ = try? await task.value }
        _ = try? await masterTask.value
    }
}

/// Launches `taskCount` short tasks on whatever is offered and records every update.
actor BatchScheduler: Scheduler {
    private let taskCount: Int
    private let resources = try! Resources(parsing: "cpus:0.1;mem:16")
    private var launched = 0
    private(set) var updatesByTask: [String: [Agora_V1_TaskState]] = [:]
    private(set) var agentsUsed: [String] = []
    private var waiter: CheckedContinuation<Bool, Never>?

    init(taskCount: Int) {
        self.taskCount = taskCount
    }

    var updateCounts: [String: Int] { updatesByTask.mapValues(\.count) }

    private var allFinished: Bool {
        updatesByTask.count == taskCount && updatesByTask.values.allSatisfy { $0.last?.isTerminal == true }
    }

    func waitUntilAllFinished(timeout: Duration) async -> Bool {
        if allFinished { return true }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resumeWaiter(false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { waiter = $0 }
    }

    private func resumeWaiter(_ value: Bool) {
        waiter?.resume(returning: value)
        waiter = nil
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        for offer in offers {
            guard var available = try? OfferResources(offer) else { continue }
            var tasks: [Agora_V1_TaskInfo] = []
            while launched < taskCount, available.take(resources) {
                tasks.append(.command(id: "task-\(launched)", name: "task \(launched)", shell: "echo $AGORA_TASK_ID",
                                      resources: resources, agentID: offer.agentID.value))
                launched += 1
                agentsUsed.append(offer.agentID.value)
            }
            if tasks.isEmpty {
                try? await driver.decline(offerIDs: [offer.id.value], filters: .refuse(seconds: 1))
            } else {
                try? await driver.launch(offerIDs: [offer.id.value], tasks: tasks, filters: .refuse(seconds: 0))
            }
        }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        updatesByTask[status.taskID.value, default: []].append(status.state)
        if allFinished { resumeWaiter(true) }
    }
}
