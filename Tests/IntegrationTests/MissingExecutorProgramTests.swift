import Agent
import AgoraProto
import Foundation
import Framework
import Logging
import Master
import Resources
import Testing

/// An agent whose `agora-executor` is not installed beside `agora` fails the task with a
/// message naming the missing file, and keeps running.
@Suite(.timeLimit(.minutes(2)))
struct MissingExecutorProgramTests {
    @Test func aTaskFailsWithTheMissingProgramsPathAndTheAgentKeepsServing() async throws {
        let workDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("agora-noexec-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        // An `agora` directory without `agora-executor` in it.
        let binDirectory = workDir + "/bin"
        try FileManager.default.createDirectory(atPath: binDirectory, withIntermediateDirectories: true)
        let missingProgram = binDirectory + "/agora-executor"
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        var configuration = MasterConfiguration(runID: "noexec", hostname: "127.0.0.1", advertisedAddress: "",
                                                version: "test", startedAtUnixSeconds: Date().timeIntervalSince1970)
        configuration.allocationInterval = .milliseconds(100)
        let master = try MasterServer(configuration: configuration, bindAddress: "tcp://127.0.0.1:0",
                                      advertisedHost: "127.0.0.1", logger: logger)
        let masterTask = Task { try await master.run() }

        var info = Agora_V1_AgentInfo()
        info.hostname = "agent-noexec"
        info.resources = try Resources(parsing: "cpus:1;mem:256").proto
        let agentConfiguration = AgentConfiguration(agentInfo: info, httpAddress: "", bootID: "boot-noexec",
                                                    version: "test", startedAtUnixSeconds: Date().timeIntervalSince1970)
        let options = AgentRuntimeOptions(agoraExecutable: binDirectory + "/agora", workDirectory: workDir + "/agent",
                                          useCgroups: false)
        #expect(options.builtInExecutorPath == missingProgram)
        let agent = try AgentServer(configuration: agentConfiguration, masterAddress: master.advertisedAddress,
                                    options: options, isolator: nil, logger: logger)
        await agent.begin(httpAddress: "")
        let agentTask = Task { try await agent.run() }
        _ = await agent.waitUntilRegistered()

        let scheduler = OneTaskScheduler()
        var frameworkInfo = Agora_V1_FrameworkInfo()
        frameworkInfo.name = "no-executor-program"
        let driver = SchedulerDriver(master: master.advertisedAddress, frameworkInfo: frameworkInfo, scheduler: scheduler,
                                     logger: logger)
        try await driver.start()
        let status = await scheduler.waitForTerminalUpdate(timeout: .seconds(60))

        #expect(status?.state == .taskFailed)
        #expect(status?.reason == .containerLaunchFailed)
        let message = status?.message ?? ""
        #expect(message.contains(missingProgram) && message.contains("missing"), "message: \(message)")
        // No sandbox was made for an executor that could not start.
        #expect(!FileManager.default.fileExists(atPath: workDir + "/agent/frameworks"))
        // The agent is still there and gave the resources back.
        let deadline = ContinuousClock.now + .seconds(20)
        var state = await master.currentState()
        while ContinuousClock.now < deadline, state.agents.first?.used.cpus != 0 {
            try await Task.sleep(for: .milliseconds(50))
            state = await master.currentState()
        }
        #expect(state.agents.count == 1)
        #expect(state.agents.first?.used.cpus == 0)

        await driver.stop()
        agentTask.cancel()
        masterTask.cancel()
        _ = try? await agentTask.value
        _ = try? await masterTask.value
    }
}

/// Launches one small command task and keeps its first terminal update.
private actor OneTaskScheduler: Scheduler {
    private let resources = try! Resources(parsing: "cpus:0.1;mem:16")
    private var launched = false
    private var terminal: Agora_V1_TaskStatus?
    private var waiter: CheckedContinuation<Agora_V1_TaskStatus?, Never>?

    func waitForTerminalUpdate(timeout: Duration) async -> Agora_V1_TaskStatus? {
        if let terminal { return terminal }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { waiter = $0 }
    }

    private func resume(_ status: Agora_V1_TaskStatus?) {
        waiter?.resume(returning: status)
        waiter = nil
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        for offer in offers {
            if launched {
                try? await driver.decline(offerIDs: [offer.id.value], filters: .refuse(seconds: 5))
                continue
            }
            launched = true
            let task = Agora_V1_TaskInfo.command(id: "needs-executor", name: "needs executor", shell: "true",
                                                 resources: resources, agentID: offer.agentID.value)
            try? await driver.launch(offerIDs: [offer.id.value], tasks: [task], filters: .refuse(seconds: 0))
        }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        guard status.state.isTerminal, terminal == nil else { return }
        terminal = status
        resume(status)
    }
}
