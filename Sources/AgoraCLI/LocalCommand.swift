import Agent
import ArgumentParser
import Foundation
import Resources
import Synchronization

/// `agora local`: a whole cluster on this host, as child processes.
struct LocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Run a master and agents on this host, for trying Agora.",
        discussion: """
            Starts `agora master` and --agents `agora agent` processes, each agent with \
            its own work dir and an equal share of this host's cpus, memory, disk and \
            ports, and the two frameworks that ship with Agora: the app framework \
            (`agora marathon`, Marathon's REST API) and the Kubernetes adapter \
            (`agora kube`). Prints one JSON line with "ready": true, the endpoints and \
            the agents once all are up; logs go to files in the work dir. Ctrl-C or \
            SIGTERM stops everything, tasks included.
            """
    )

    @Option(help: "How many agents to start.")
    var agents = 2

    @Option(help: "Directory for the master's and agents' state and logs (default: a new temporary one).")
    var workDir: String?

    @Option(help: "The master's ZeroMQ port (0 picks a free one).")
    var port = 5050

    @Option(help: "The master's HTTP port (0 picks a free one).")
    var httpPort = 5080

    @Option(help: "Allocation interval of the master, e.g. 1s.")
    var allocationInterval = "1s"

    @Option(help: "cgroups or posix isolation for the agents (default: cgroups where possible).")
    var isolation: String?

    @Option(help: "Port of the app framework's REST API (0 picks a free one).")
    var marathonPort = 8080

    @Option(help: "Port of the Kubernetes API (0 picks a free one).")
    var kubePort = 6443

    @Flag(help: "Start only the master and the agents, without the app framework and the Kubernetes adapter.")
    var noFrameworks = false

    func validate() throws {
        guard (1...64).contains(agents) else { throw ValidationError("--agents must be between 1 and 64") }
    }

    func run() async throws {
        let directory = try prepareWorkDirectory(workDir ?? NSTemporaryDirectory() + "agora-local-\(getpid())")
        let executable = currentExecutablePath()
        let cluster = LocalCluster()
        let stop = RunCommand.onInterrupt { cluster.stopAll() }
        defer { stop.cancel() }

        let master = try cluster.start(
            executable, ["master", "--work-dir", directory + "/master", "--ip", "127.0.0.1",
                         "--port", String(port), "--http-port", String(httpPort),
                         "--allocation-interval", allocationInterval],
            log: directory + "/master.log")
        guard let masterReady = await cluster.readyLine(of: master), let masterAddress = masterReady["master"] else {
            cluster.stopAll()
            throw ValidationError("the master did not start; see \(directory)/master.log")
        }

        let shares = try Self.agentShares(count: agents, workDirectory: directory)
        var agentProcesses: [Process] = []
        for (index, share) in shares.enumerated() {
            var arguments = ["agent", "--master", masterAddress, "--work-dir", directory + "/agent-\(index + 1)",
                             "--ip", "127.0.0.1", "--http-port", "0", "--resources", share.description,
                             "--hostname", "127.0.0.1", "--kill-executors-on-shutdown",
                             // All agents share this host's name; a rack attribute each lets
                             // placement constraints (e.g. rack:UNIQUE) spread tasks anyway.
                             "--attributes", "rack:rack-\(index + 1)"]
            if let isolation { arguments += ["--isolation", isolation] }
            agentProcesses.append(try cluster.start(executable, arguments, log: directory + "/agent-\(index + 1).log"))
        }
        var agentInfos: [[String: Any]] = []
        for (index, process) in agentProcesses.enumerated() {
            guard let ready = await cluster.readyLine(of: process) else {
                cluster.stopAll()
                throw ValidationError("agent \(index + 1) did not start; see \(directory)/agent-\(index + 1).log")
            }
            agentInfos.append(["agent_id": ready["agent_id"] ?? "", "agent_http": ready["agent_http"] ?? ""])
        }
        var ready: [String: Any] = ["master": masterAddress, "master_http": masterReady["master_http"] ?? "",
                                    "agents": agentInfos, "work_dir": directory]
        var hints = ["try: agora run --master \(masterAddress) -- echo hello"]
        if !noFrameworks {
            let frameworks: [(name: String, arguments: [String], field: String)] = [
                ("marathon", ["marathon", "--master", masterAddress, "--work-dir", directory + "/marathon",
                              "--ip", "127.0.0.1", "--advertise-host", "127.0.0.1", "--http-port", String(marathonPort)],
                 "marathon"),
                ("kube", ["kube", "--master", masterAddress, "--work-dir", directory + "/kube",
                          "--listen-host", "127.0.0.1", "--api-port", String(kubePort)], "kube_api"),
            ]
            for framework in frameworks {
                let process = try cluster.start(executable, framework.arguments, log: directory + "/\(framework.name).log")
                guard let line = await cluster.readyLine(of: process), let endpoint = line[framework.field] else {
                    cluster.stopAll()
                    throw ValidationError("agora \(framework.name) did not start; see \(directory)/\(framework.name).log")
                }
                ready[framework.field] = endpoint
            }
            hints.append("apps: agora app deploy Examples/apps/web.json --marathon \(ready["marathon"] ?? "")")
            hints.append("kubernetes: kubectl --server \(ready["kube_api"] ?? "") get nodes")
        }
        printReadyLine(ready)
        FileHandle.standardError.write(Data(([
            "agora local: master \(masterAddress), \(agents) agent(s); logs in \(directory)",
        ] + hints + ["Ctrl-C stops the cluster.", ""]).joined(separator: "\n").utf8))
        let exited = await cluster.waitForFirstExit()
        cluster.stopAll()
        await cluster.waitForAll()
        if !cluster.stopping {
            throw ValidationError("\(exited) exited unexpectedly; see the logs in \(directory)")
        }
    }

    /// This host's resources split evenly, ports in disjoint slices.
    static func agentShares(count: Int, workDirectory: String) throws -> [Resources] {
        let host = try HostFacts.read(workDirectory: workDirectory)
        let total = ResourceDetector.defaults(for: host)
        let portRange: ClosedRange<UInt64> = 31_000...32_000
        let slice = UInt64(portRange.count) / UInt64(count)
        return try (0..<count).map { index in
            let cpus = max(0.1, total.cpus.doubleValue / Double(count))
            let mem = (total.mem.doubleValue / Double(count)).rounded(.down)
            let disk = (total.disk.doubleValue / Double(count)).rounded(.down)
            let low = portRange.lowerBound + UInt64(index) * slice
            let high = index == count - 1 ? portRange.upperBound : low + slice - 1
            return try Resources(parsing: "cpus:\(String(format: "%.2f", cpus));mem:\(Int(mem));disk:\(Int(disk));ports:[\(low)-\(high)]")
        }
    }
}

/// The child processes of `agora local`.
final class LocalCluster: Sendable {
    private struct State {
        var processes: [Process] = []
        var stopping = false
    }

    private let state = Mutex(State())

    var stopping: Bool { state.withLock { $0.stopping } }

    /// Starts `executable arguments…` with stdout piped (for its ready line) and
    /// stderr appended to `log`.
    func start(_ executable: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        guard FileManager.default.createFile(atPath: log, contents: nil), let logHandle = FileHandle(forWritingAtPath: log) else {
            throw ValidationError("cannot write \(log)")
        }
        process.standardError = logHandle
        process.standardOutput = Pipe()
        process.standardInput = FileHandle.nullDevice
        try process.run()
        state.withLock { $0.processes.append(process) }
        return process
    }

    /// The string fields of the first JSON line a child prints, or nil if it exits first.
    func readyLine(of process: Process) async -> [String: String]? {
        guard let pipe = process.standardOutput as? Pipe else { return nil }
        let handle = pipe.fileHandleForReading
        return await Task.detached {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[..<newline]
                    guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else { return nil }
                    return object.compactMapValues { $0 as? String }
                }
            }
        }.value
    }

    /// Waits until any child exits; returns a description of it.
    func waitForFirstExit() async -> String {
        while true {
            let processes = state.withLock { $0.processes }
            if let exited = processes.first(where: { !$0.isRunning }) {
                return "\(exited.arguments?.first ?? "a process") (pid \(exited.processIdentifier), status \(exited.terminationStatus))"
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// SIGTERM to every child (agents first, so they stop their tasks).
    func stopAll() {
        let processes = state.withLock { state in
            state.stopping = true
            return state.processes
        }
        for process in processes.reversed() where process.isRunning {
            kill(process.processIdentifier, SIGTERM)
        }
    }

    /// Waits up to 10 s for every child to exit, then SIGKILLs the rest.
    func waitForAll() async {
        let processes = state.withLock { $0.processes }
        let deadline = ContinuousClock.now + .seconds(10)
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
