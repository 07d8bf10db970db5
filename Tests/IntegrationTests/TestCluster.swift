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
        await master.stop()
        try? FileManager.default.removeItem(atPath: workDir)
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
