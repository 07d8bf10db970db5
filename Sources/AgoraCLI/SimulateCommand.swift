import ArgumentParser
import Foundation
import Logging
import Messaging
import Resources
import ServiceLifecycle
import Simulator

/// `agora simulate`: many simulated agents and a tiny framework against a real master.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Register many simulated agents with a master and run simulated tasks on them (for benchmarks).",
        discussion: """
            The agents speak the real agent protocol over a few shared connections: they \
            register, answer pings, report TASK_RUNNING for every task launched on them, \
            and re-register with their tasks when the master restarts. Once all are \
            registered, a built-in framework launches --tasks-per-agent tasks on each and \
            then declines further offers with a filter, so allocation keeps running.

            Milestones are printed as JSON lines on stdout (agents_registered, \
            framework_subscribed, tasks_running, then a line with "ready": true; after a \
            master failover agents_reregistered, offers_flowing and failover_complete), \
            with Unix times. Stops on SIGTERM or Ctrl-C, leaving the tasks to the master.

            With --update-rounds R, every task then sends R further TASK_RUNNING updates \
            (as health-check results), each once the previous one of that task was \
            acknowledged, and the simulator prints update_rounds_started and \
            update_rounds_complete (updates, seconds, retries, envelope bytes).
            """
    )

    @Option(help: "The master, as HOST:PORT or tcp://HOST:PORT.")
    var master: String

    @Option(help: "Number of simulated agents.")
    var agents: Int

    @Option(help: "Tasks the built-in framework launches on every agent.")
    var tasksPerAgent = 0

    @Option(help: "ZeroMQ connections the agents share.")
    var connections = 4

    @Option(help: "Resources of every simulated agent.")
    var resources = "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]"

    @Option(help: "Resources of every simulated task.")
    var taskResources = "cpus:0.1;mem:32"

    @Option(help: "Seconds declined or left-over resources stay filtered from the framework.")
    var refuseSeconds = 5.0

    @Option(help: "Further TASK_RUNNING updates every task sends once all tasks run, each after the previous one of the task was acknowledged.")
    var updateRounds = 0

    @Option(help: "Seconds after all tasks run before the update rounds start.")
    var updateDelay = 2.0

    @Option(help: "If given, milestones are also appended to milestones.jsonl in this directory.")
    var workDir: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        // The counts are checked by FleetConfiguration and SimulationOptions (in `run`).
        guard refuseSeconds.isFinite, refuseSeconds >= 0 else { throw ValidationError("--refuse-seconds must be 0 or more") }
        guard updateDelay.isFinite, updateDelay >= 0 else { throw ValidationError("--update-delay must be 0 or more") }
    }

    func run() async throws {
        try bootstrapLogging(level: logLevel)
        let logger = Logger(label: "agora.simulate")
        let agentResources: Resources
        let taskResources: Resources
        do {
            agentResources = try Resources(parsing: resources)
        } catch {
            throw ValidationError("invalid --resources \"\(resources)\": \(error)")
        }
        do {
            taskResources = try Resources(parsing: self.taskResources)
        } catch {
            throw ValidationError("invalid --task-resources \"\(self.taskResources)\": \(error)")
        }
        let milestoneFile = try workDir.map { try prepareWorkDirectory($0) + "/milestones.jsonl" }
        let simulation: Simulation
        do {
            let fleet = try FleetConfiguration(agentCount: agents, connectionCount: connections, resources: agentResources,
                                               runNonce: UInt64.random(in: 1...UInt64.max))
            var options = try SimulationOptions(masterAddress: try masterEndpoint(master), fleet: fleet,
                                                tasksPerAgent: tasksPerAgent, taskResources: taskResources)
            options.refuseSeconds = refuseSeconds
            try options.setUpdateRounds(updateRounds, delay: .seconds(fractional: updateDelay))
            simulation = try Simulation(options: options, logger: logger) { report in
                emitLine(report.jsonLine)
                if let milestoneFile { Self.append(report.jsonLine, to: milestoneFile) }
            }
        } catch let error as SimulationError {
            throw ValidationError(error.message)
        }
        let services = ServiceGroup(services: [simulation], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await services.run()
    }

    private static func append(_ line: String, to path: String) {
        let data = Data((line + "\n").utf8)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(data)
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: data)
        }
    }
}
