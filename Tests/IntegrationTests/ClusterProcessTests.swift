import AgoraProto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Messaging
import Resources
import Testing

/// Real `agora master`, `agora agent` and `agora run` processes on loopback.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClusterProcessTests {
    @Test func aTaskWritesItsOutputIntoItsSandbox() async throws {
        try await TestCluster.with { cluster in
            let run = try cluster.run(["--", "echo", "hello from a task"])
            let running = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            #expect(await run.waitForExit() == 0, "stdout: \(run.stdout)")
            #expect(run.stdout.contains("TASK_FINISHED"))
            let url = try #require(running.components(separatedBy: "output: ").last)
            let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: url)))
            #expect(String(decoding: data, as: UTF8.self) == "hello from a task\n")
            // The same file is in the agent's work dir.
            let sandboxes = FileManager.default.enumerator(atPath: cluster.workDir)?.compactMap { $0 as? String } ?? []
            #expect(sandboxes.contains { $0.hasSuffix("/stdout") && $0.contains("/frameworks/") })

            // The summary counts the task without listing it, and `cluster status` reads it.
            let summary = try JSONSerialization.jsonObject(with: Data(try await cluster.get("/state-summary").utf8)) as? [String: Any]
            #expect((summary?["completedTasks"] as? [Any])?.isEmpty == true && (summary?["tasks"] as? [Any])?.isEmpty == true)
            #expect(summary?["taskCounts"] as? [String: Int] == ["TASK_FINISHED": 1])
            let status = try AgoraBinary.run(["cluster", "status", "--master-http", cluster.masterHTTP])
            #expect(status.status == 0 && status.stdout.contains("tasks: 1 finished"), "\(status.stdout)\(status.stderr)")

            // `/tasks` pages through the tasks with Mesos' parameters; a bad one is a 400 naming it.
            let page = try JSONSerialization.jsonObject(with: Data(try await cluster.get("/tasks?limit=10&order=asc").utf8))
            #expect(((page as? [String: Any])?["tasks"] as? [[String: Any]])?.map { $0["state"] as? String } == ["TASK_FINISHED"])
            let (body, response) = try await URLSession.shared.data(from: URL(string: cluster.masterHTTP + "/tasks?limit=ten")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 400)
            #expect(String(decoding: body, as: UTF8.self).contains("limit must be a non-negative whole number"))

            // `agora tasks` reads it: the finished task only with --all, and only for its framework.
            let live = try AgoraBinary.run(["tasks", "--master-http", cluster.masterHTTP])
            #expect(live.status == 0 && live.stdout.contains("no running tasks"), "\(live.stdout)\(live.stderr)")
            let all = try AgoraBinary.run(["tasks", "--all", "--master-http", cluster.masterHTTP])
            #expect(all.status == 0 && all.stdout.contains("TASK_FINISHED"), "\(all.stdout)\(all.stderr)")
            let other = try AgoraBinary.run(["tasks", "--all", "--framework", "nobody", "--master-http", cluster.masterHTTP])
            #expect(other.status == 0 && other.stdout.contains("no tasks"), "\(other.stdout)\(other.stderr)")
            let negative = try AgoraBinary.run(["tasks", "--limit=-1", "--master-http", cluster.masterHTTP])
            #expect(negative.status != 0 && negative.stderr.contains("--limit must be 0 or more"), "\(negative.stderr)")
        }
    }

    /// Ctrl-C makes `agora run` kill its tasks and wait for their ends; when those cannot
    /// come (the master is gone), a second Ctrl-C leaves at once.
    @Test func aSecondInterruptLeavesWhenTheTasksEndsCannotCome() async throws {
        try await TestCluster.with { cluster in
            let run = try cluster.run(["--", "sleep 60"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            cluster.master.signal(SIGKILL)
            _ = await cluster.master.waitForExit()
            run.signal(SIGINT)
            _ = try #require(await run.line(containing: "interrupted: killing the tasks"), "stdout: \(run.stdout)")
            run.signal(SIGINT)
            #expect(await run.line(containing: "interrupted again") != nil, "stdout: \(run.stdout)")
            #expect(await run.waitForExit(timeout: .seconds(20)) == 130, "stdout: \(run.stdout)")
        }
    }

    /// Command tasks of one framework on one agent are started by one shared executor,
    /// each in a container of its own: its own sandbox and, with cgroups, its own cgroup.
    @Test func commandTasksShareTheirFrameworksExecutorEachInAContainerOfItsOwn() async throws {
        let cgroups = CgroupSupport.available
        if !cgroups { print("commandTasksShare…: \(CgroupSupport.reason); checking the shared executor without cgroups") }
        try await TestCluster.with(agentResources: ["cpus:2;mem:2048"], agentFlags: cgroups ? ["--isolation", "cgroups"] : []) { cluster in
            let run = try cluster.run(["--instances", "2", "--mem", "48", "--", "echo ppid=$PPID; cat /proc/self/cgroup"])
            #expect(await run.waitForExit() == 0, "stdout: \(run.stdout)")
            let urls = run.stdout.split(separator: "\n").filter { $0.contains("TASK_RUNNING") }
                .compactMap { $0.components(separatedBy: "output: ").last }
            try #require(urls.count == 2, "stdout: \(run.stdout)")
            var parents: Set<Substring> = []
            var memoryCgroups: Set<Substring> = []
            for url in urls {
                let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: url)))
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                parents.formUnion(lines.filter { $0.hasPrefix("ppid=") })
                // The memory controller's line on cgroup v1, the unified line on v2.
                let memory = lines.filter { $0.contains(":memory:") }
                memoryCgroups.formUnion(memory.isEmpty ? lines.filter { $0.hasPrefix("0::") } : memory)
            }
            #expect(parents.count == 1, "one executor started both tasks: \(parents)")
            #expect(Set(urls).count == 2, "each task has its own sandbox")
            if cgroups {
                #expect(memoryCgroups.count == 2 && memoryCgroups.allSatisfy { $0.contains("/agora/") },
                        "each task runs in its own container's cgroup: \(memoryCgroups)")
            }
        }
    }

    /// The agent destroys a container with SIGTERM first; the executor then ends its
    /// tasks before it exits, so none outlives it even without cgroups (each task runs
    /// in its own process group, out of reach of a signal to the executor's).
    @Test func aSIGTERMedExecutorEndsItsTasksBeforeItExits() async throws {
        // posix: with cgroups the agent would kill the task through its container anyway.
        try await TestCluster.with(agentResources: ["cpus:2;mem:2048"], agentFlags: ["--isolation", "posix"]) { cluster in
            let run = try cluster.run(["--", "sleep 300"])
            let running = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            let pidText = try #require(running.components(separatedBy: "started as pid ").last?.prefix { $0.isNumber })
            let task = try #require(pid_t(pidText))
            let stat = try String(contentsOfFile: "/proc/\(task)/stat", encoding: .utf8)
            // Fields after the command name: state, then the parent's pid.
            let afterName = try #require(stat.split(separator: ")").last?.split(separator: " "))
            let executor = try #require(pid_t(afterName[1]))
            let comm = try String(contentsOfFile: "/proc/\(executor)/comm", encoding: .utf8)
            try #require(comm.hasPrefix("agora-executor"), "the task's parent is \(comm)")

            kill(executor, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(15)
            while kill(task, 0) == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(kill(task, 0) != 0, "task \(task) outlived its executor's SIGTERM")
            // The task's end reaches the framework, from the executor or from the agent.
            #expect(await run.waitForExit(timeout: .seconds(15)) != nil, "stdout: \(run.stdout)")
            #expect(run.stdout.contains("TASK_KILLED") || run.stdout.contains("TASK_FAILED"), "stdout: \(run.stdout)")
        }
    }

    @Test func aCommandThatExitsThreeFailsWithExitCodeThree() async throws {
        try await TestCluster.with { cluster in
            let run = try cluster.run(["--", "exit 3"])
            #expect(await run.waitForExit() == 3, "stdout: \(run.stdout)")
            #expect(run.stdout.contains("TASK_FAILED"))
            #expect(run.stdout.contains("exited with status 3"))
        }
    }

    @Test func killingARunningTaskEndsItWithinTheGracePeriodPlusOneSecond() async throws {
        try await TestCluster.with { cluster in
            // The task ignores SIGTERM, so only the SIGKILL after the grace period ends it.
            let run = try cluster.run(["--kill-grace-period", "1s", "--", "trap '' TERM; sleep 30"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            let start = ContinuousClock.now
            run.signal(SIGINT)
            _ = try #require(await run.line(containing: "TASK_KILLED", timeout: .seconds(10)), "stdout: \(run.stdout)")
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(2), "TASK_KILLED came after \(elapsed)")
            #expect(run.stdout.contains("TASK_KILLING"))
            #expect(await run.waitForExit() == 130)
        }
    }

    @Test(.enabled(if: CgroupSupport.available, CgroupSupport.reason))
    func aTaskOverItsMemoryLimitFailsWithTheMemoryReason() async throws {
        try await TestCluster.with(agentFlags: ["--isolation", "cgroups"]) { cluster in
            let run = try cluster.run(["--mem", "64", "--", "head -c 200M /dev/zero | tail"])
            let exit = await run.waitForExit(timeout: .seconds(60))
            #expect(exit != 0)
            let failed = try #require(await run.line(containing: "TASK_FAILED", timeout: .seconds(5)), "stdout: \(run.stdout)")
            #expect(failed.contains("containerLimitationMemory"), "got: \(failed)")
        }
    }

    @Test func aKilledAgentsTasksBecomeUnreachableAndItsOffersAreRescinded() async throws {
        try await TestCluster.with(
            masterFlags: ["--agent-ping-timeout", "200ms", "--max-agent-ping-timeouts", "3"],
            agentResources: ["cpus:1;mem:1024"]) { cluster in
            let run = try cluster.run(["--cpus", "0.5", "--", "sleep 8"])
            _ = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")

            // A second framework holds the rest of the agent as an unanswered offer.
            let holder = try RawFramework(master: cluster.masterAddress)
            _ = try await holder.subscribe(name: "holder")
            let offer = try await holder.next { $0.type == .offers }.offers.offers[0]

            cluster.agents[0].signal(SIGKILL)
            let unreachable = try #require(await run.line(containing: "TASK_UNREACHABLE", timeout: .seconds(15)),
                                           "stdout: \(run.stdout)")
            #expect(unreachable.contains("unreachable"))
            let rescind = try await holder.next { $0.type == .rescind }
            #expect(rescind.rescind.offerID.value == offer.id.value)
            #expect(try await cluster.waitForState { state in
                ((state["agents"] as? [[String: Any]]) ?? []).contains { $0["active"] as? Bool == false }
            })
            #expect(try await cluster.metric("agora_master_agents{state=\"unreachable\"}") == 1)
            await holder.shutdown()
            run.signal(SIGTERM)
        }
    }

    @Test func invalidAcceptsAreAnsweredWithReasonsWhileOtherFrameworksRun() async throws {
        try await TestCluster.with(agentResources: ["cpus:2;mem:2048"]) { cluster in
            let bystander = try cluster.run(["--", "sleep 2"])
            _ = try #require(await bystander.line(containing: "TASK_RUNNING"), "stdout: \(bystander.stdout)")

            let framework = try RawFramework(master: cluster.masterAddress)
            _ = try await framework.subscribe(name: "bad-input")
            let agentID = cluster.agentIDs[0]

            // More than offered.
            var offer = try await framework.next { $0.type == .offers }.offers.offers[0]
            try await framework.accept(offerIDs: [offer.id.value],
                                       tasks: [RawFramework.task("greedy", agentID: agentID, command: "true", resources: "cpus:64;mem:32")])
            let greedy = try await framework.update(for: "greedy")
            #expect(greedy.state == .taskError)
            #expect(greedy.reason == .taskInvalid)
            #expect(greedy.message.contains("missing"), "message: \(greedy.message)")

            // An offer ID the master never made.
            try await framework.accept(offerIDs: ["no-such-offer"],
                                       tasks: [RawFramework.task("orphan", agentID: agentID, command: "true")])
            let orphan = try await framework.update(for: "orphan")
            #expect(orphan.state == .taskDropped)
            #expect(orphan.reason == .invalidOffers)

            // An empty command.
            offer = try await framework.next { $0.type == .offers }.offers.offers[0]
            try await framework.accept(offerIDs: [offer.id.value],
                                       tasks: [RawFramework.task("empty", agentID: agentID, command: "  ")])
            let empty = try await framework.update(for: "empty")
            #expect(empty.state == .taskError)
            #expect(empty.message.contains("empty"), "message: \(empty.message)")

            // The same task ID twice in one ACCEPT: the first runs, the second is refused.
            offer = try await framework.next { $0.type == .offers }.offers.offers[0]
            try await framework.accept(offerIDs: [offer.id.value],
                                       tasks: [RawFramework.task("twin", agentID: agentID, command: "sleep 1"),
                                               RawFramework.task("twin", agentID: agentID, command: "sleep 1")])
            let first = try await framework.update(for: "twin")
            let second = try await framework.update(for: "twin")
            let states = Set([first.state, second.state])
            #expect(states.contains(.taskError), "states: \(states)")
            #expect([first, second].contains { $0.message.contains("twin") && $0.reason == .taskInvalid })

            #expect(await bystander.waitForExit() == 0, "stdout: \(bystander.stdout)")
            #expect(try await cluster.metric("agora_master_tasks_invalid_total") ?? 0 >= 3)
            await framework.shutdown()
        }
    }

    @Test func whenOneTaskOfAGroupFailsTheOthersAreKilled() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"]) { cluster in
            let framework = try RawFramework(master: cluster.masterAddress)
            _ = try await framework.subscribe(name: "group")
            let offer = try await framework.next { $0.type == .offers }.offers.offers[0]
            var executor = Agora_V1_ExecutorInfo()
            executor.type = .default
            executor.executorID.value = "group-executor"
            executor.resources = try Resources(parsing: "cpus:0.1;mem:32").proto
            let agentID = offer.agentID.value
            try await framework.acceptGroup(offerID: offer.id.value, executor: executor, tasks: [
                RawFramework.task("steady", agentID: agentID, command: "sleep 30"),
                RawFramework.task("crashing", agentID: agentID, command: "sleep 0.5; exit 2"),
            ])
            #expect(try await framework.update(for: "steady").state == .taskRunning)
            #expect(try await framework.update(for: "crashing").state == .taskRunning)
            let crashed = try await framework.update(for: "crashing")
            #expect(crashed.state == .taskFailed)
            #expect(crashed.message.contains("status 2"), "message: \(crashed.message)")
            var steady = try await framework.update(for: "steady")
            if steady.state == .taskKilling { steady = try await framework.update(for: "steady") }
            #expect(steady.state == .taskKilled)
            await framework.shutdown()
        }
    }

    @Test func sandboxesOfFinishedExecutorsAreRemovedAfterTheRetention() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"], agentFlags: ["--sandbox-retention", "1s"]) { cluster in
            let run = try cluster.run(["--", "echo", "short-lived"])
            let running = try #require(await run.line(containing: "TASK_RUNNING"), "stdout: \(run.stdout)")
            #expect(await run.waitForExit() == 0)
            let relative = try #require(running.components(separatedBy: "path=").last?.replacingOccurrences(of: "/stdout", with: ""))
            let sandbox = cluster.workDir + "/agent-0/" + relative
            var removed = false
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline, !removed {
                removed = !FileManager.default.fileExists(atPath: sandbox)
                if !removed { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(removed, "\(sandbox) is still there")
        }
    }

    @Test func garbageOnTheMasterPortIsCountedAndChangesNothing() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"]) { cluster in
            let agentIDs = { (state: [String: Any]) in ((state["agents"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String } }
            #expect(try await cluster.waitForState { agentIDs($0) == cluster.agentIDs })

            // A ZeroMQ peer sending frames that are not envelopes, and one far too large.
            let peer = try DealerEndpoint(connectingTo: cluster.masterAddress)
            var random = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                try await peer.sendRawFrame((0..<200).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
            try await peer.sendRawFrame([UInt8](repeating: 0x41, count: 5 * 1_024 * 1_024))
            // And plain TCP garbage that is not even ZeroMQ.
            try sendRawTCP(to: cluster.masterAddress, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8) + [0xFF, 0x00, 0x13])

            var undecodable = 0.0, oversized = 0.0
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, undecodable < 20 || oversized < 1 {
                undecodable = try await cluster.metric("agora_master_messages_total{kind=\"undecodable\"}") ?? 0
                oversized = try await cluster.metric("agora_master_messages_total{kind=\"oversized\"}") ?? 0
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(undecodable >= 20)
            #expect(oversized >= 1)
            await peer.shutdown()

            // The master still serves, with the same agents.
            #expect(agentIDs(try await cluster.state()) == cluster.agentIDs)
            let run = try cluster.run(["--", "true"])
            #expect(await run.waitForExit() == 0, "stdout: \(run.stdout)")
        }
    }

    private func sendRawTCP(to address: String, bytes: [UInt8]) throws {
        let hostPort = address.replacingOccurrences(of: "tcp://", with: "").split(separator: ":")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DaemonError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(hostPort[1])!).bigEndian
        addr.sin_addr.s_addr = inet_addr(String(hostPort[0]))
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw DaemonError("connect failed") }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    }
}

/// Whether this host lets the agent enforce limits with cgroups (root and a writable
/// memory controller), and why not when it does not.
enum CgroupSupport {
    static var available: Bool { reasonUnavailable == nil }

    static var reason: Comment {
        Comment(rawValue: reasonUnavailable.map { "skipped: \($0)" } ?? "cgroups available")
    }

    static var reasonUnavailable: String? {
        if getuid() != 0 { return "needs root to create cgroups" }
        let v1 = "/sys/fs/cgroup/memory"
        let v2 = "/sys/fs/cgroup/cgroup.controllers"
        if access(v1, W_OK) == 0 { return nil }
        if let controllers = try? String(contentsOfFile: v2, encoding: .utf8), controllers.contains("memory") { return nil }
        return "no writable cgroup memory controller"
    }
}
