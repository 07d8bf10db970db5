import AgoraProto
import ArgumentParser
import Foundation
import Framework
import Logging
import Resources
import Synchronization

/// `agora run`: launch a command through offers, like mesos-execute.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command on the cluster through offers and wait for it to end.",
        discussion: """
            Subscribes as a framework, launches --instances copies of the command on \
            offered resources, prints every state change with the agent and the sandbox \
            where its output lands, and exits with the task's exit status (the first \
            failure's when there are several). Ctrl-C kills the tasks; a second Ctrl-C \
            leaves without waiting for them to end.

            Example: agora run --master 127.0.0.1:5050 --cpus 0.1 --mem 32 -- echo hello
            """
    )

    @Option(help: "The master, as HOST:PORT or tcp://HOST:PORT.")
    var master = "127.0.0.1:5050"

    @Option(help: "CPUs per instance.")
    var cpus = 0.1

    @Option(help: "Memory per instance, in MB.")
    var mem = 32.0

    @Option(help: "Disk per instance, in MB.")
    var disk = 0.0

    @Option(help: "How many copies to run.")
    var instances = 1

    @Option(help: "Task name prefix.")
    var name = "agora-run"

    @Option(help: "Role to take resources from.")
    var role = "*"

    @Option(help: "Grace period between SIGTERM and SIGKILL when a task is killed, e.g. 3s.")
    var killGracePeriod: DurationArgument?

    @Flag(help: "Print one JSON object per state change instead of text.")
    var json = false

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        var words = command
        if words.first == "--" { words.removeFirst() }
        guard !words.isEmpty else { throw ValidationError("give the command to run after --, e.g. agora run -- echo hello") }
        guard instances >= 1 else { throw ValidationError("--instances must be at least 1") }
        guard cpus > 0 || mem > 0 else { throw ValidationError("give the task some --cpus or --mem") }
        guard cpus >= 0, mem >= 0, disk >= 0 else { throw ValidationError("resources cannot be negative") }
    }

    func run() async throws {
        try bootstrapLogging(level: ProcessInfo.processInfo.environment["AGORA_LOG_LEVEL"] ?? "warning")
        var words = command
        if words.first == "--" { words.removeFirst() }
        let commandLine = words.count == 1 ? words[0] : words.map(Self.shellQuoted).joined(separator: " ")
        var text = "cpus(\(role)):\(cpus);mem(\(role)):\(mem)"
        if role == "*" { text = "cpus:\(cpus);mem:\(mem)" }
        if disk > 0 { text += role == "*" ? ";disk:\(disk)" : ";disk(\(role)):\(disk)" }
        let resources: Resources
        do {
            resources = try Resources(parsing: text)
        } catch {
            throw ValidationError("invalid resources: \(error)")
        }

        var info = Agora_V1_FrameworkInfo()
        info.name = name
        info.user = ProcessInfo.processInfo.environment["USER"] ?? "root"
        info.roles = [role]
        var capability = Agora_V1_FrameworkInfo.Capability()
        capability.type = .partitionAware
        info.capabilities = [capability]

        let runner = RunScheduler(plan: RunScheduler.Plan(
            commandLine: commandLine, resources: resources, instances: instances, namePrefix: name,
            killGracePeriod: killGracePeriod?.duration, json: json))
        let driver = SchedulerDriver(master: try masterEndpoint(master), frameworkInfo: info, scheduler: runner)
        do {
            try await driver.start()
        } catch {
            throw ValidationError("cannot reach the master at \(master): \(error)")
        }
        let interrupt = Self.onInterrupt { Task { await runner.interrupt(driver) } }
        let exitCode = await runner.waitForCompletion()
        interrupt.cancel()
        await driver.stop(failover: false)
        throw ExitCode(exitCode)
    }

    static func shellQuoted(_ word: String) -> String {
        guard word.contains(where: { !($0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0)) }) else { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Calls `handler` on SIGINT/SIGTERM instead of dying at once, for as long as the
    /// returned value is kept.
    static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> InterruptHandler {
        InterruptHandler(sources: [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        })
    }
}

/// The scheduler behind `agora run`: places instances on offers, reports their
/// states, and resolves with an exit code once all have ended.
actor RunScheduler: Scheduler {
    struct Plan: Sendable {
        var commandLine: String
        var resources: Resources
        var instances: Int
        var namePrefix: String
        var killGracePeriod: Duration?
        var json: Bool
    }

    private let plan: Plan
    private let runID = String(UUID().uuidString.prefix(8)).lowercased()
    private var nextInstance = 0
    private var states: [String: Agora_V1_TaskState] = [:]
    private var agentsOfTasks: [String: String] = [:]
    private var agentURLs: [String: String] = [:]
    private var exitCodes: [String: Int32] = [:]
    private var completion: CheckedContinuation<Int32, Never>?
    private var result: Int32?
    private var interrupted = false

    init(plan: Plan) {
        self.plan = plan
    }

    func waitForCompletion() async -> Int32 {
        if let result { return result }
        return await withCheckedContinuation { completion = $0 }
    }

    func interrupt(_ driver: SchedulerDriver) async {
        guard !interrupted else {
            // The tasks' ends may never come (the master is gone): a second Ctrl-C leaves.
            say("interrupted again: leaving without waiting for the tasks to end")
            finish(130)
            return
        }
        interrupted = true
        say("interrupted: killing the tasks")
        nextInstance = plan.instances
        for (taskID, state) in states where !state.isTerminal {
            try? await driver.kill(taskID: taskID, agentID: agentsOfTasks[taskID])
        }
        if states.values.allSatisfy(\.isTerminal) { finish(130) }
    }

    func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {
        say("subscribed to master \(masterInfo.pid) as framework \(frameworkID)")
        if !states.isEmpty {
            try? await driver.reconcile(tasks: states.keys.sorted().map { ($0, agentsOfTasks[$0]) })
        }
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        for offer in offers {
            agentURLs[offer.agentID.value] = offer.url.path
            guard nextInstance < plan.instances, var available = try? OfferResources(offer) else {
                try? await driver.decline(offerIDs: [offer.id.value], filters: Self.refuse(60))
                continue
            }
            var tasks: [Agora_V1_TaskInfo] = []
            while nextInstance < plan.instances, available.take(plan.resources) {
                let taskID = "\(plan.namePrefix)-\(runID)-\(nextInstance)"
                var task = Agora_V1_TaskInfo.command(id: taskID, name: "\(plan.namePrefix) #\(nextInstance)",
                                                     shell: plan.commandLine, resources: plan.resources,
                                                     agentID: offer.agentID.value)
                if let grace = plan.killGracePeriod {
                    task.killPolicy.gracePeriod.nanoseconds = Int64(grace.components.seconds) * 1_000_000_000
                        + Int64(grace.components.attoseconds / 1_000_000_000)
                }
                tasks.append(task)
                states[taskID] = .taskStaging
                agentsOfTasks[taskID] = offer.agentID.value
                nextInstance += 1
            }
            if tasks.isEmpty {
                try? await driver.decline(offerIDs: [offer.id.value], filters: Self.refuse(5))
            } else {
                for task in tasks { report(task.taskID.value, state: "TASK_STAGING", detail: "on \(offer.hostname)") }
                do {
                    try await driver.launch(offerIDs: [offer.id.value], tasks: tasks)
                } catch {
                    say("launching on \(offer.hostname) failed: \(error)")
                }
            }
        }
        if nextInstance >= plan.instances { try? await driver.suppress() }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        let taskID = status.taskID.value
        guard states[taskID] != nil else { return }
        states[taskID] = status.state
        var detail = status.message
        if status.state == .taskRunning, let base = agentURLs[status.agentID.value], !base.isEmpty,
           let frameworkID = await driver.frameworkID {
            let sandbox = "frameworks/\(frameworkID)/executors/\(status.executorID.value)/runs/\(status.containerStatus.containerID.value)"
            detail += "; output: \(base)/files/read?path=\(sandbox)/stdout"
        }
        if let code = status.labels.labels.first(where: { $0.key == "exit_code" }).flatMap({ Int32($0.value) }) {
            exitCodes[taskID] = code
        }
        report(taskID, state: status.state.name, detail: detail, reason: status.hasReason ? "\(status.reason)" : nil)
        if states.count == plan.instances || interrupted, states.values.allSatisfy(\.isTerminal) {
            finish(interrupted ? 130 : exitCode())
        }
    }

    func error(_ driver: SchedulerDriver, message: String) async {
        say("the master reported an error: \(message)")
    }

    private func exitCode() -> Int32 {
        for taskID in states.keys.sorted() where states[taskID] != .taskFinished {
            if let code = exitCodes[taskID], code != 0 { return code }
            return 1
        }
        return 0
    }

    private func finish(_ code: Int32) {
        guard result == nil else { return }
        result = code
        completion?.resume(returning: code)
        completion = nil
    }

    private func report(_ taskID: String, state: String, detail: String, reason: String? = nil) {
        if plan.json {
            var object: [String: Any] = ["task_id": taskID, "state": state, "message": detail]
            if let reason { object["reason"] = reason }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                emitLine(String(decoding: data, as: UTF8.self))
            }
        } else {
            emitLine("\(taskID)  \(state)\(detail.isEmpty ? "" : "  \(detail)")\(reason.map { "  (\($0))" } ?? "")")
        }
    }

    private func say(_ message: String) {
        if !plan.json { emitLine(message) }
    }

    static func refuse(_ seconds: Double) -> Agora_V1_Filters {
        var filters = Agora_V1_Filters()
        filters.refuseSeconds = seconds
        return filters
    }
}

/// Keeps signal handlers installed until cancelled.
struct InterruptHandler {
    let sources: [any DispatchSourceSignal]

    func cancel() {
        for source in sources { source.cancel() }
    }
}
