import AgoraProto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A real network partition between the master and one agent: the agent runs in its
/// own network namespace, joined to the master by a veth pair whose host side the
/// test takes down and up again.
@Suite(.serialized, .timeLimit(.minutes(2)), .enabled(if: NetworkNamespace.available, NetworkNamespace.reason))
struct PartitionTests {
    @Test func aPartitionedAgentComesBackWithItsTaskStillRunningAndNotRelaunched() async throws {
        try await NetworkNamespace.with { namespace in
            try await PartitionCluster.with(namespace) { cluster in
                try await partitionAndHeal(cluster, namespace, outlastingTheConnection: false)
            }
        }
    }

    /// The same, with the link down until ZeroMQ's heartbeat (10 s) has dropped the
    /// agent's TCP connection, so the agent comes back on a new connection.
    @Test func anAgentPartitionedLongerThanItsConnectionLivesComesBackOnANewConnection() async throws {
        try await NetworkNamespace.with { namespace in
            try await PartitionCluster.with(namespace) { cluster in
                try await partitionAndHeal(cluster, namespace, outlastingTheConnection: true)
            }
        }
    }

    private func partitionAndHeal(_ cluster: PartitionCluster, _ namespace: NetworkNamespace,
                                  outlastingTheConnection: Bool) async throws {
        let taskID = "partitioned-sleeper"
        let sleepArgv = ["sleep", "60"]
        #expect(try await cluster.waitForMaster { state in
            agents(state).filter { $0["active"] as? Bool == true }.count == 2
        }, "both agents should be active")

        // A partition-aware framework runs a long task on the namespaced agent.
        let framework = try RawFramework(master: cluster.masterAddress)
        _ = try await framework.subscribe(name: "partition-aware")
        let launchDeadline = ContinuousClock.now + .seconds(20)
        var launched = false
        while !launched {
            let remaining = launchDeadline - ContinuousClock.now
            guard remaining > .zero else { throw DaemonError("no offer from the namespaced agent within 20 s") }
            let offers = try await framework.next(timeout: remaining) { $0.type == .offers }.offers.offers
            for offer in offers {
                if !launched, offer.agentID.value == cluster.namespacedAgentID {
                    try await framework.accept(offerIDs: [offer.id.value], tasks: [
                        RawFramework.task(taskID, agentID: cluster.namespacedAgentID, command: sleepArgv.joined(separator: " ")),
                    ])
                    launched = true
                } else {
                    try await framework.decline(offer.id.value)
                }
            }
        }
        let running = try await framework.updateState(.taskRunning, for: taskID)
        #expect(running.agentID.value == cluster.namespacedAgentID)
        #expect(try await waitUntil { try namespace.processCount(argv: sleepArgv) == 1 }, "the task's sleep should run in the namespace")
        let containerBefore = try #require(try await cluster.waitForNamespacedAgent { state in
            executors(state, running: taskID).count == 1
        }.flatMap { executors($0, running: taskID).first?["containerID"] as? String }, "the agent's /state should list the executor")

        // Cut the link: the master loses the agent, the framework is told.
        try namespace.cut()
        let unreachable = try await framework.updateState(.taskUnreachable, for: taskID, timeout: .seconds(15))
        #expect(unreachable.reason == .agentDisconnected)
        #expect(try await cluster.waitForMaster { state in
            agents(state).first { $0["id"] as? String == cluster.namespacedAgentID }?["active"] as? Bool == false
        }, "the master should mark the namespaced agent inactive")
        #expect(try await cluster.metric("agora_master_agents{state=\"unreachable\"}") == 1)
        // The other agent is not affected by the partition.
        #expect(try await cluster.metric("agora_master_agents{state=\"active\"}") == 1)
        #expect(agents(try await cluster.master()).first { $0["id"] as? String == cluster.hostAgentID }?["active"] as? Bool == true)
        // The task itself keeps running behind the partition.
        #expect(try namespace.processCount(argv: sleepArgv) == 1)
        if outlastingTheConnection {
            let disconnects = "agora_master_messages_total{kind=\"disconnects\"}"
            let before = try await cluster.metric(disconnects) ?? 0
            #expect(try await waitUntilAsync(timeout: .seconds(20)) { try await cluster.metric(disconnects) ?? 0 > before },
                    "the master's ZeroMQ heartbeat should drop the partitioned agent's connection")
        }

        // Heal: the agent re-registers and its task is reported running again.
        try namespace.restore()
        let back = try await framework.updateState(.taskRunning, for: taskID, timeout: .seconds(30))
        #expect(back.reason == .agentReregistered || (back.hasSource && back.source == .master),
                "the RUNNING update after healing should come from the re-registration, got \(back)")
        #expect(back.agentID.value == cluster.namespacedAgentID)
        let healed = try await cluster.waitForMaster { state in
            let tasks = ((state["tasks"] as? [[String: Any]]) ?? []).filter { $0["id"] as? String == taskID }
            let agent = agents(state).first { $0["id"] as? String == cluster.namespacedAgentID }
            return tasks.count == 1 && tasks[0]["state"] as? String == "TASK_RUNNING"
                && tasks[0]["agentID"] as? String == cluster.namespacedAgentID && agent?["active"] as? Bool == true
        }
        if !healed {
            let state = try await cluster.master()
            Issue.record("/state should show the agent active and exactly one RUNNING \(taskID) on it: \(state)")
        }
        #expect(try await cluster.metric("agora_master_agents{state=\"unreachable\"}") == 0)
        #expect(try await cluster.metric("agora_master_agents{state=\"active\"}") == 2)
        let completed = ((try await cluster.master()["completedTasks"] as? [[String: Any]]) ?? []).filter { $0["id"] as? String == taskID }
        #expect(completed.isEmpty, "the task should not also be among the completed: \(completed)")

        // Nothing was launched twice: the same executor container, one sleep process.
        let agentState = try #require(try await cluster.waitForNamespacedAgent { state in
            state["registered"] as? Bool == true && executors(state, running: taskID).count == 1
        }, "the agent's /state should show it registered with one executor for \(taskID)")
        #expect(executors(agentState, running: taskID).first?["containerID"] as? String == containerBefore)
        #expect(try namespace.processCount(argv: sleepArgv) == 1)
        #expect(try await cluster.namespacedAgentMetric("agora_agent_executors_launched_total") == 1)

        await framework.shutdown()
    }

    private func agents(_ state: [String: Any]) -> [[String: Any]] {
        (state["agents"] as? [[String: Any]]) ?? []
    }

    private func executors(_ agentState: [String: Any], running taskID: String) -> [[String: Any]] {
        ((agentState["executors"] as? [[String: Any]]) ?? []).filter { ($0["tasks"] as? [String])?.contains(taskID) == true }
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes.
    private func waitUntilAsync(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes.
    private func waitUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try condition()
    }
}

/// A master bound to the host side of a veth pair, one agent inside the namespace and
/// one on the host, both connecting to the master's veth address.
private final class PartitionCluster: Sendable {
    let workDir: String
    let master: DaemonProcess
    let masterAddress: String
    let masterHTTP: String
    let namespacedAgent: DaemonProcess
    let namespacedAgentID: String
    let namespacedAgentHTTP: String
    let hostAgent: DaemonProcess
    let hostAgentID: String

    static func with<T>(_ namespace: NetworkNamespace, _ body: (PartitionCluster) async throws -> T) async throws -> T {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("agora-partition-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        var started: [DaemonProcess] = []
        func stopAll() async {
            for process in started.reversed() { await process.stop() }
            try? FileManager.default.removeItem(atPath: workDir)
        }
        let cluster: PartitionCluster
        do {
            let master = try DaemonProcess(["master", "--work-dir", workDir + "/master", "--ip", namespace.hostAddress,
                                            "--port", "0", "--http-port", "0", "--allocation-interval", "100ms",
                                            "--agent-ping-timeout", "200ms", "--max-agent-ping-timeouts", "3",
                                            "--log-level", "debug"], name: "partition-master")
            started.append(master)
            let ready = try await master.readyFields()
            let masterAddress = try #require(ready["master"] as? String)
            let agentFlags = ["--master", masterAddress, "--http-port", "0", "--isolation", "posix",
                              "--kill-executors-on-shutdown", "--log-level", "debug"]
            let inside = namespace.exec(AgoraBinary.url, [
                "agent", "--work-dir", workDir + "/agent-ns", "--ip", namespace.namespaceAddress,
                "--hostname", namespace.namespaceAddress, "--resources", "cpus:1;mem:512;" + TestPorts.resource(TestPorts.block()),
            ] + agentFlags)
            let namespacedAgent = try DaemonProcess(inside.arguments, name: "partition-agent-ns", executable: inside.executable)
            started.append(namespacedAgent)
            let hostAgent = try DaemonProcess([
                "agent", "--work-dir", workDir + "/agent-host", "--ip", "127.0.0.1", "--hostname", "127.0.0.1",
                "--resources", "cpus:1;mem:512;" + TestPorts.resource(TestPorts.block()),
            ] + agentFlags, name: "partition-agent-host")
            started.append(hostAgent)
            let namespacedReady = try await namespacedAgent.readyFields()
            let hostReady = try await hostAgent.readyFields()
            cluster = PartitionCluster(
                workDir: workDir, master: master, masterAddress: masterAddress,
                masterHTTP: try #require(ready["master_http"] as? String),
                namespacedAgent: namespacedAgent, namespacedAgentID: try #require(namespacedReady["agent_id"] as? String),
                namespacedAgentHTTP: try #require(namespacedReady["agent_http"] as? String),
                hostAgent: hostAgent, hostAgentID: try #require(hostReady["agent_id"] as? String))
        } catch {
            await stopAll()
            throw error
        }
        do {
            let result = try await body(cluster)
            await stopAll()
            return result
        } catch {
            for process in started {
                print("--- \(process.stderrPath) (last 4000 characters)\n\(process.stderr.suffix(4_000))")
            }
            await stopAll()
            throw error
        }
    }

    private init(workDir: String, master: DaemonProcess, masterAddress: String, masterHTTP: String,
                 namespacedAgent: DaemonProcess, namespacedAgentID: String, namespacedAgentHTTP: String,
                 hostAgent: DaemonProcess, hostAgentID: String) {
        self.workDir = workDir
        self.master = master
        self.masterAddress = masterAddress
        self.masterHTTP = masterHTTP
        self.namespacedAgent = namespacedAgent
        self.namespacedAgentID = namespacedAgentID
        self.namespacedAgentHTTP = namespacedAgentHTTP
        self.hostAgent = hostAgent
        self.hostAgentID = hostAgentID
    }

    /// GETs `base + path` with a short timeout (a request across a cut link must not hang).
    private func get(_ base: String, _ path: String) async throws -> String {
        var request = URLRequest(url: try #require(URL(string: base + path)))
        request.timeoutInterval = 3
        let (data, _) = try await URLSession.shared.data(for: request)
        return String(decoding: data, as: UTF8.self)
    }

    private func json(_ base: String, _ path: String) async throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try await get(base, path).utf8)) as? [String: Any] ?? [:]
    }

    /// The master's `/state`.
    func master() async throws -> [String: Any] {
        try await json(masterHTTP, "/state")
    }

    /// A sample from the master's `/metrics`, by its full name with labels.
    func metric(_ sample: String) async throws -> Double? {
        Self.sample(sample, in: try await get(masterHTTP, "/metrics"))
    }

    /// A sample from the namespaced agent's `/metrics`.
    func namespacedAgentMetric(_ sample: String) async throws -> Double? {
        Self.sample(sample, in: try await get(namespacedAgentHTTP, "/metrics"))
    }

    private static func sample(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// Polls the master's `/state` (refreshed every 200 ms) until `condition` holds.
    func waitForMaster(timeout: Duration = .seconds(20), _ condition: ([String: Any]) -> Bool) async throws -> Bool {
        try await poll(timeout: timeout, { try await self.master() }, condition) != nil
    }

    /// Polls the namespaced agent's `/state` (refreshed every 500 ms) until `condition`
    /// holds, and returns that state (nil on timeout).
    func waitForNamespacedAgent(timeout: Duration = .seconds(20), _ condition: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        try await poll(timeout: timeout, { try await self.json(self.namespacedAgentHTTP, "/state") }, condition)
    }

    private func poll(timeout: Duration, _ fetch: () async throws -> [String: Any],
                      _ condition: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let state = try? await fetch(), condition(state) { return state }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}

extension RawFramework {
    /// Declines an offer without a filter, so its resources come back at once.
    fileprivate func decline(_ offerID: String) async throws {
        var call = Agora_V1_Scheduler_Call()
        call.type = .decline
        var id = Agora_V1_OfferID()
        id.value = offerID
        call.decline.offerIds = [id]
        call.decline.filters.refuseSeconds = 0
        try await send(call)
    }

    /// The first update for `taskID` in `state`; earlier updates for it (STARTING, …) are skipped.
    fileprivate func updateState(_ state: Agora_V1_TaskState, for taskID: String,
                                 timeout: Duration = .seconds(20)) async throws -> Agora_V1_TaskStatus {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw DaemonError("no \(state.name) update for \(taskID) within \(timeout)") }
            let status = try await update(for: taskID, timeout: remaining)
            if status.state == state { return status }
            if status.state.isTerminal {
                throw DaemonError("\(taskID) ended as \(status.state.name) (\(status.reason)): \(status.message)")
            }
        }
    }
}
