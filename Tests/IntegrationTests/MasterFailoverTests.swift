import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Real `agora master` processes killed with SIGKILL and restarted on the same work
/// dir and ports: the registry brings back agents and frameworks, agents bring back
/// their tasks.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MasterFailoverTests {
    @Test func aRestartedMasterGetsBackItsAgentsFrameworkAndRunningTask() async throws {
        let cluster = try await FailoverCluster.start()
        defer { cluster.removeWorkDir() }
        var run: DaemonProcess?
        do {
            let task = try cluster.run(["--", "sleep 30"])
            run = task
            _ = try #require(await task.line(containing: "TASK_RUNNING"), "stdout: \(task.stdout)")
            // /state is a snapshot refreshed every 100 ms: wait until it shows the task.
            _ = try await cluster.waitForState { Self.tasks($0).contains { $0["state"] as? String == "TASK_RUNNING" } }
            let before = try await cluster.state()
            let frameworkID = try #require(Self.frameworks(before).first?["id"] as? String)
            let runningTask = try #require(Self.tasks(before).first)
            let taskID = try #require(runningTask["id"] as? String)
            let agentOfTask = try #require(runningTask["agentID"] as? String)

            try await cluster.killAndRestartMaster()

            // Agents re-register under the same IDs, the framework re-subscribes under
            // its own, and the task is known again, running on the same agent.
            let recovered = try await cluster.waitForState(timeout: .seconds(30)) { state in
                let agents = Self.agents(state)
                let frameworks = Self.frameworks(state)
                let tasks = Self.tasks(state)
                return agents.compactMap { $0["id"] as? String }.sorted() == cluster.agentIDs.sorted()
                    && agents.allSatisfy { $0["state"] as? String == "active" }
                    && frameworks.contains { $0["id"] as? String == frameworkID && $0["connected"] as? Bool == true }
                    && tasks.contains { $0["id"] as? String == taskID && $0["state"] as? String == "TASK_RUNNING"
                        && $0["agentID"] as? String == agentOfTask }
            }
            let stateText = (try? await cluster.get("/state")) ?? ""
            #expect(recovered, "state after the restart: \(stateText)\nmaster: \(cluster.master.stderr.suffix(3_000))")
            // It knew them from its registry, not only from their re-registration.
            #expect(cluster.master.stderr.contains("recovered from its registry: 2 agent(s) to re-register"),
                    "master: \(cluster.master.stderr.prefix(3_000))")
            _ = await task.line(containing: "subscribed to master", timeout: .seconds(1))
            #expect(task.stdout.components(separatedBy: "subscribed to master").count == 3,
                    "agora run subscribed once and re-subscribed once: \(task.stdout)")

            // Offers flow again: a new command runs to completion.
            let second = try cluster.run(["--", "true"])
            #expect(await second.waitForExit(timeout: .seconds(30)) == 0, "stdout: \(second.stdout)")

            // Nothing was killed or lost: the first task still runs.
            #expect(task.isRunning)
            for state in ["TASK_KILLED", "TASK_LOST", "TASK_FAILED", "TASK_GONE", "TASK_UNREACHABLE", "TASK_UNKNOWN"] {
                #expect(!task.stdout.contains(state), "agora run saw \(state): \(task.stdout)")
            }
            let after = try await cluster.state()
            #expect(Self.tasks(after).contains { $0["id"] as? String == taskID && $0["state"] as? String == "TASK_RUNNING" })
            #expect(try await cluster.metric("agora_master_agents{state=\"active\"}") == 2)

            // A graceful restart (SIGTERM) keeps everything too.
            try await cluster.restartMaster(signal: SIGTERM)
            let again = try await cluster.waitForState(timeout: .seconds(30)) { state in
                Self.frameworks(state).contains { $0["id"] as? String == frameworkID && $0["connected"] as? Bool == true }
                    && Self.tasks(state).contains { $0["id"] as? String == taskID && $0["state"] as? String == "TASK_RUNNING" }
            }
            #expect(again, "master: \(cluster.master.stderr.suffix(3_000))")
            #expect(task.isRunning && !task.stdout.contains("TASK_KILLED"), "stdout: \(task.stdout)")
        } catch {
            Issue.record("failed: \(error)\nmaster: \(cluster.master.stderr.suffix(3_000))")
        }
        if let run { await run.stop() }
        await cluster.shutdown()
    }

    @Test func anAgentThatDoesNotComeBackIsMarkedUnreachableAndStaysSo() async throws {
        let cluster = try await FailoverCluster.start(masterFlags: ["--agent-reregister-timeout", "2s"])
        defer { cluster.removeWorkDir() }
        do {
            let missing = cluster.agentIDs[1]
            cluster.master.signal(SIGKILL)
            _ = await cluster.master.waitForExit()
            cluster.agents[1].signal(SIGKILL)
            _ = await cluster.agents[1].waitForExit()
            try await cluster.restartMaster()

            // At first it is waited for; after the timeout it is unreachable.
            let first = try await cluster.state()
            let firstState = Self.agents(first).first { $0["id"] as? String == missing }?["state"] as? String
            #expect(firstState == "recovering" || firstState == "unreachable", "state: \(firstState ?? "-")")
            let unreachable = try await cluster.waitForState(timeout: .seconds(15)) { state in
                let agents = Self.agents(state)
                return agents.contains { $0["id"] as? String == missing && $0["state"] as? String == "unreachable"
                    && $0["active"] as? Bool == false && $0["unreachableSince"] is Double }
                    && agents.contains { $0["id"] as? String == cluster.agentIDs[0] && $0["state"] as? String == "active" }
            }
            let stateText = (try? await cluster.get("/state")) ?? ""
            #expect(unreachable, "state: \(stateText)")
            #expect(try await cluster.metric("agora_master_agents{state=\"unreachable\"}") == 1)

            // That is stored: after another restart it is unreachable at once.
            try await cluster.killAndRestartMaster()
            let again = try await cluster.state()
            #expect(Self.agents(again).first { $0["id"] as? String == missing }?["state"] as? String == "unreachable",
                    "state: \(again)")
        } catch {
            Issue.record("failed: \(error)\nmaster: \(cluster.master.stderr.suffix(3_000))")
        }
        await cluster.shutdown()
    }

    @Test func aSecondMasterOnTheSameWorkDirRefusesToStart() async throws {
        let cluster = try await FailoverCluster.start(agents: 0)
        defer { cluster.removeWorkDir() }
        let intruder = try DaemonProcess(["master", "--work-dir", cluster.workDir + "/master", "--ip", "127.0.0.1",
                                          "--port", "0", "--http-port", "0"], name: "intruder")
        let status = await intruder.waitForExit(timeout: .seconds(20))
        #expect(status != nil && status != 0)
        #expect(intruder.stderr.contains("another master"), "stderr: \(intruder.stderr)")
        #expect(cluster.master.isRunning)
        await intruder.stop()
        await cluster.shutdown()
    }

    // MARK: - Reading /state

    static func agents(_ state: [String: Any]) -> [[String: Any]] { state["agents"] as? [[String: Any]] ?? [] }
    static func frameworks(_ state: [String: Any]) -> [[String: Any]] { state["frameworks"] as? [[String: Any]] ?? [] }
    static func tasks(_ state: [String: Any]) -> [[String: Any]] { state["tasks"] as? [[String: Any]] ?? [] }
}

/// A master on fixed ports (so it can be restarted where agents and frameworks look
/// for it) and agents, as real processes; like `TestCluster`, plus restarts.
final class FailoverCluster: @unchecked Sendable {
    let workDir: String
    let masterArguments: [String]
    let masterAddress: String
    let masterHTTP: String
    private(set) var master: DaemonProcess
    let agents: [DaemonProcess]
    let agentIDs: [String]

    static func start(masterFlags: [String] = [], agents count: Int = 2) async throws -> FailoverCluster {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("agora-failover-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let port = try freePort(), httpPort = try freePort()
        let arguments = ["master", "--work-dir", workDir + "/master", "--ip", "127.0.0.1", "--port", "\(port)",
                         "--http-port", "\(httpPort)", "--allocation-interval", "100ms", "--log-level", "debug"] + masterFlags
        let master = try DaemonProcess(arguments, name: "master")
        let ready: [String: Any]
        do {
            ready = try await master.readyFields()
        } catch {
            await master.stop()
            throw error
        }
        let masterAddress = ready["master"] as? String ?? ""
        var agents: [DaemonProcess] = []
        var agentIDs: [String] = []
        do {
            for index in 0..<count {
                agents.append(try DaemonProcess(["agent", "--master", masterAddress, "--work-dir", workDir + "/agent-\(index)",
                                                 "--ip", "127.0.0.1", "--http-port", "0", "--hostname", "127.0.0.1",
                                                 "--resources", "cpus:2;mem:2048;" + TestPorts.resource(TestPorts.block()),
                                                 "--kill-executors-on-shutdown", "--log-level", "debug"],
                                                name: "agent\(index)"))
            }
            for agent in agents { agentIDs.append(try await agent.readyFields()["agent_id"] as? String ?? "") }
        } catch {
            for agent in agents { await agent.stop() }
            await master.stop()
            throw error
        }
        return FailoverCluster(workDir: workDir, masterArguments: arguments, masterAddress: masterAddress,
                               masterHTTP: ready["master_http"] as? String ?? "", master: master, agents: agents,
                               agentIDs: agentIDs)
    }

    private init(workDir: String, masterArguments: [String], masterAddress: String, masterHTTP: String,
                 master: DaemonProcess, agents: [DaemonProcess], agentIDs: [String]) {
        self.workDir = workDir
        self.masterArguments = masterArguments
        self.masterAddress = masterAddress
        self.masterHTTP = masterHTTP
        self.master = master
        self.agents = agents
        self.agentIDs = agentIDs
    }

    /// A free TCP port on loopback: bind port 0, read the port back, close.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DaemonError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw DaemonError("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw DaemonError("getsockname failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// SIGKILL to the master (no goodbye to anyone), then the same command again.
    func killAndRestartMaster() async throws {
        try await restartMaster(signal: SIGKILL)
    }

    /// Stops the master with `signal`, then starts it again.
    func restartMaster(signal: Int32) async throws {
        master.signal(signal)
        guard await master.waitForExit(timeout: .seconds(15)) != nil else {
            throw DaemonError("the master did not exit on signal \(signal)")
        }
        try await restartMaster()
    }

    /// Starts the master again with its first arguments: same work dir, same ports.
    func restartMaster() async throws {
        let old = master
        master = try DaemonProcess(masterArguments, name: "master")
        await old.stop()  // already dead; removes its log
        let ready = try await master.readyFields()
        guard ready["master"] as? String == masterAddress else {
            throw DaemonError("the master came back at \(ready["master"] ?? "-"), not \(masterAddress)")
        }
    }

    /// `agora run` against this cluster.
    func run(_ arguments: [String]) throws -> DaemonProcess {
        try DaemonProcess(["run", "--master", masterAddress] + arguments, name: "run")
    }

    func get(_ path: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: masterHTTP + path)!)
        return String(decoding: data, as: UTF8.self)
    }

    func state() async throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try await get("/state").utf8)) as? [String: Any] ?? [:]
    }

    func metric(_ sample: String) async throws -> Double? {
        for line in try await get("/metrics").split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    func waitForState(timeout: Duration = .seconds(20), _ condition: ([String: Any]) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let state = try? await state(), condition(state) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Stops the agents (and their tasks) and the master.
    func shutdown() async {
        for agent in agents { await agent.stop() }
        await master.stop()
    }

    func removeWorkDir() {
        try? FileManager.default.removeItem(atPath: workDir)
    }
}
