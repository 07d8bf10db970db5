import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A master and agents as real processes on loopback with ephemeral ports and
/// temporary work dirs; everything it started is stopped by `shutdown()`.
final class TestCluster: Sendable {
    let workDir: String
    let master: DaemonProcess
    let masterAddress: String
    let masterHTTP: String
    let agents: [DaemonProcess]
    let agentIDs: [String]
    /// The ports each agent offers, a block of its own (see `TestPorts`).
    let agentPorts: [ClosedRange<Int>]
    /// `agora run` clients started with `run(_:)`, stopped with the cluster.
    private let runs = Mutex<[DaemonProcess]>([])

    /// - Parameters:
    ///   - masterFlags: extra `agora master` flags (timeouts for failure tests).
    ///   - agentResources: one `--resources` value per agent.
    static func start(masterFlags: [String] = [], agentResources: [String] = ["cpus:2;mem:2048", "cpus:2;mem:2048"],
                      agentFlags: [String] = []) async throws -> TestCluster {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("agora-it-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let master = try DaemonProcess(["master", "--work-dir", workDir + "/master", "--ip", "127.0.0.1", "--port", "0",
                                        "--http-port", "0", "--allocation-interval", "100ms", "--log-level", "debug"] + masterFlags,
                                       name: "master")
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
        let agentPorts = agentResources.map { _ in TestPorts.block() }
        do {
            for (index, resources) in agentResources.enumerated() {
                let agent = try DaemonProcess(["agent", "--master", masterAddress, "--work-dir", workDir + "/agent-\(index)",
                                               "--ip", "127.0.0.1", "--http-port", "0", "--hostname", "127.0.0.1",
                                               "--resources", resources + ";" + TestPorts.resource(agentPorts[index]),
                                               "--kill-executors-on-shutdown", "--recovery-timeout", "60s",
                                               "--log-level", "debug"] + agentFlags,
                                              name: "agent\(index)")
                agents.append(agent)
            }
            for agent in agents {
                agentIDs.append(try await agent.readyFields()["agent_id"] as? String ?? "")
            }
        } catch {
            for agent in agents { await agent.stop() }
            await master.stop()
            throw error
        }
        return TestCluster(workDir: workDir, master: master, masterAddress: masterAddress,
                           masterHTTP: ready["master_http"] as? String ?? "", agents: agents, agentIDs: agentIDs,
                           agentPorts: agentPorts)
    }

    /// Runs `body` against a fresh cluster and always shuts the cluster down after.
    static func with<T>(masterFlags: [String] = [], agentResources: [String] = ["cpus:2;mem:2048", "cpus:2;mem:2048"],
                        agentFlags: [String] = [], _ body: (TestCluster) async throws -> T) async throws -> T {
        let cluster = try await start(masterFlags: masterFlags, agentResources: agentResources, agentFlags: agentFlags)
        do {
            let result = try await body(cluster)
            await cluster.shutdown()
            return result
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    private init(workDir: String, master: DaemonProcess, masterAddress: String, masterHTTP: String,
                 agents: [DaemonProcess], agentIDs: [String], agentPorts: [ClosedRange<Int>]) {
        self.workDir = workDir
        self.master = master
        self.masterAddress = masterAddress
        self.masterHTTP = masterHTTP
        self.agents = agents
        self.agentIDs = agentIDs
        self.agentPorts = agentPorts
    }

    /// Stops the agents (and their tasks) and the master, and removes the work dir.
    func shutdown() async {
        for run in runs.withLock({ $0 }) where run.isRunning { await run.stop() }
        for agent in agents { await agent.stop() }
        for (index, agentID) in agentIDs.enumerated() {
            await Self.cleanUp(afterAgent: agentID, workDir: workDir + "/agent-\(index)")
        }
        await master.stop()
        try? FileManager.default.removeItem(atPath: workDir)
    }

    /// The executor processes an agent's checkpoint (in its work dir) names.
    static func executorPIDs(inCheckpointOf workDir: String) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: workDir + "/meta/checkpoint.json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return ((object["executors"] as? [[String: Any]]) ?? []).compactMap { ($0["pid"] as? NSNumber)?.int32Value }
    }

    /// Ends what a stopped agent left behind, as the agent itself would on its next start
    /// (`--recover=cleanup`): the executors named in its checkpoint that still run, and the
    /// cgroups of its containers. Nothing is left after an agent stopped with
    /// `--kill-executors-on-shutdown`; this is for agents a test killed. A pid counts as
    /// the agent's executor only if it runs `agora-executor` inside the agent's work dir.
    static func cleanUp(afterAgent agentID: String, workDir: String) async {
        let pids = (try? executorPIDs(inCheckpointOf: workDir)) ?? []
        let root = URL(fileURLWithPath: workDir).resolvingSymlinksInPath().path
        let executors = pids.filter { pid in
            guard pid > 1, let commandLine = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                  commandLine.contains("agora-executor"),
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return false }
            return cwd.hasPrefix(root + "/")
        }
        for pid in executors { kill(-pid, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(5)
        while executors.contains(where: { kill($0, 0) == 0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard !agentID.isEmpty else { return }
        // Tasks run in cgroups of their own, apart from their executor's process group.
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        let cgroups = (hierarchies.map { "/sys/fs/cgroup/\($0)/agora" } + ["/sys/fs/cgroup/agora"]).flatMap { parent in
            ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [])
                .filter { $0.hasPrefix(agentID + "-C") }.map { parent + "/" + $0 }
        }
        func processes(in cgroup: String) -> [Int32] {
            ((try? String(contentsOfFile: cgroup + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }
        while cgroups.contains(where: { !processes(in: $0).isEmpty }), ContinuousClock.now < deadline {
            for cgroup in cgroups { for pid in processes(in: cgroup) { kill(pid, SIGKILL) } }
            try? await Task.sleep(for: .milliseconds(50))
        }
        for cgroup in cgroups { rmdir(cgroup) }
    }

    /// `agora run` against this cluster.
    func run(_ arguments: [String]) throws -> DaemonProcess {
        let run = try DaemonProcess(["run", "--master", masterAddress] + arguments, name: "run")
        runs.withLock { $0.append(run) }
        return run
    }

    /// GETs a path on the master's HTTP server.
    func get(_ path: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: masterHTTP + path)!)
        return String(decoding: data, as: UTF8.self)
    }

    /// The master's `/state` as JSON.
    func state() async throws -> [String: Any] {
        let text = try await get("/state")
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    /// A counter or gauge from `/metrics`, by its full sample name with labels.
    func metric(_ sample: String) async throws -> Double? {
        for line in try await get("/metrics").split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// Polls `condition` on `/state` (which is refreshed every 200 ms) until it holds.
    func waitForState(timeout: Duration = .seconds(20), _ condition: ([String: Any]) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(try await state()) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
