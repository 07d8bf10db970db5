import Foundation
import Testing

/// An agent killed with SIGKILL and restarted on the same work dir.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AgentRecoveryTests {
    /// Starts an agent of `cluster` in `workDir` and returns it once it is ready.
    private func startAgent(_ cluster: TestCluster, workDir: String, extra: [String] = []) async throws -> (DaemonProcess, String) {
        let agent = try DaemonProcess(["agent", "--master", cluster.masterAddress, "--work-dir", workDir, "--ip", "127.0.0.1",
                                       "--http-port", "0", "--hostname", "127.0.0.1",
                                       "--resources", "cpus:1;mem:512;" + TestPorts.resource(TestPorts.block()), "--log-level", "debug"] + extra,
                                      name: "recovering-agent")
        do {
            return (agent, try await agent.readyFields()["agent_id"] as? String ?? "")
        } catch {
            await agent.stop()
            throw error
        }
    }

    @Test func aRestartedAgentKeepsItsIDAndItsRunningTaskFinishes() async throws {
        try await TestCluster.with(agentResources: []) { cluster in
            let workDir = cluster.workDir + "/agent"
            let (first, agentID) = try await startAgent(cluster, workDir: workDir)
            // The task runs until the test lets it finish, however slow the machine is.
            let release = cluster.workDir + "/release-the-task"
            let run = try cluster.run(["--", "while [ ! -e \(release) ]; do sleep 0.1; done; echo survived"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            first.signal(SIGKILL)
            _ = await first.waitForExit()

            let (second, sameID) = try await startAgent(cluster, workDir: workDir, extra: ["--kill-executors-on-shutdown"])
            #expect(sameID == agentID)
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            #expect(await run.waitForExit(timeout: .seconds(30)) == 0, "stdout: \(run.stdout)")
            #expect(run.stdout.components(separatedBy: "TASK_FINISHED").count == 2, "stdout: \(run.stdout)")
            #expect(second.stderr.contains("1 of 1 executor(s) still run"))
            await second.stop()
        }
    }

    @Test func aTaskWhoseExecutorDiedWhileTheAgentWasDownIsReportedFailed() async throws {
        try await TestCluster.with(agentResources: []) { cluster in
            let workDir = cluster.workDir + "/agent"
            let (first, agentID) = try await startAgent(cluster, workDir: workDir)
            let run = try cluster.run(["--", "sleep 60"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            first.signal(SIGKILL)
            _ = await first.waitForExit()
            let pids = try TestCluster.executorPIDs(inCheckpointOf: workDir)
            #expect(pids.count == 1)
            for pid in pids where pid > 1 { kill(-pid, SIGKILL) }  // the executor's whole process group
            // SIGKILL takes effect asynchronously: an executor still exiting when the agent
            // recovers is adopted, and its end is reported differently.
            for pid in pids where pid > 1 {
                #expect(await Self.waitUntilEnded(pid), "executor \(pid) still runs after SIGKILL")
            }

            let (second, sameID) = try await startAgent(cluster, workDir: workDir)
            #expect(sameID == agentID)
            let failed = try #require(await run.line(containing: "TASK_FAILED", timeout: .seconds(20)), "stdout: \(run.stdout)")
            #expect(failed.contains("while the agent was down"), "got: \(failed)")
            #expect(await run.waitForExit() == 1)
            await second.stop()
        }
    }

    @Test func executorsOfAnAgentThatNeverReturnsKillTheirTasksAndExitAfterTheRecoveryTimeout() async throws {
        try await TestCluster.with(agentResources: []) { cluster in
            let workDir = cluster.workDir + "/agent"
            let (agent, agentID) = try await startAgent(cluster, workDir: workDir, extra: ["--recovery-timeout", "2s"])
            let marker = "recovery-timeout-\(UUID().uuidString)"
            let run = try cluster.run(["--", "sleep 300; echo \(marker)"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            let executors = try TestCluster.executorPIDs(inCheckpointOf: workDir)
            // The task's shell (not the `agora run` client, whose command line has it too).
            let tasks = Self.pids(withCommandLineContaining: marker).filter { !Self.commandLine(of: $0).contains("agora") }
            #expect(executors.count == 1 && !tasks.isEmpty)
            agent.signal(SIGKILL)
            _ = await agent.waitForExit()

            // Nobody restarts the agent: 2 s later the executor kills the task and exits.
            let everything = executors + tasks
            let deadline = ContinuousClock.now + .seconds(30)
            while everything.contains(where: Self.isAlive), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(!everything.contains(where: Self.isAlive), "still running: \(everything.filter(Self.isAlive))")
            // The agent that would destroy its containers never comes back.
            await TestCluster.cleanUp(afterAgent: agentID, workDir: workDir)
        }
    }

    /// Whether `pid` runs (a zombie waiting for its reaper does not count).
    private static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    private static func pids(withCommandLineContaining text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { commandLine(of: $0).contains(text) }
    }

    private static func commandLine(of pid: Int32) -> String {
        FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    @Test func recoverCleanupKillsLeftoversAndRegistersAsANewAgent() async throws {
        try await TestCluster.with(agentResources: []) { cluster in
            let workDir = cluster.workDir + "/agent"
            let (first, agentID) = try await startAgent(cluster, workDir: workDir)
            let run = try cluster.run(["--", "sleep 60"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            first.signal(SIGKILL)
            _ = await first.waitForExit()
            let pids = try TestCluster.executorPIDs(inCheckpointOf: workDir)

            let (second, newID) = try await startAgent(cluster, workDir: workDir, extra: ["--recover", "cleanup"])
            #expect(newID != agentID)
            for pid in pids {
                #expect(await Self.waitUntilEnded(pid), "executor \(pid) still runs")
            }
            run.signal(SIGTERM)
            await second.stop()
        }
    }

    /// Waits until `pid` has exited: gone, or a zombie that its new parent has not reaped yet.
    static func waitUntilEnded(_ pid: Int32) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let state = stat.split(separator: ")").last?.split(separator: " ").first else { return true }
            if state == "Z" || state == "X" { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
