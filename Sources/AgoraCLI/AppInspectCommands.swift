import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `agora app list`.
struct AppListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List apps with their instances, health, resources and deployments."
    )

    @OptionGroup var options: MarathonOptions

    func run() async throws {
        try await reportingAppErrors {
            try await options.show("/v2/apps", as: AppListView.self, what: "an app list") { AppTables.apps($0.apps) }
        }
    }
}

/// `agora app show ID`.
struct AppShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show an app's definition, its tasks and its last task failure."
    )

    @OptionGroup var options: MarathonOptions

    @OptionGroup var app: AppIDArgument

    func run() async throws {
        try await app.reporting { appID in
            try await options.show(MarathonClient.appPath(appID), subject: appID, as: AppDetailView.self, what: "an app") {
                AppTables.details($0.app, now: Date())
            }
        }
    }
}

extension MarathonOptions {
    /// GETs `path` and prints the server's JSON with --json; otherwise decodes it as
    /// `View` (`what` names it in a decoding error) and prints `render` of it.
    func show<View: Decodable>(_ path: String, subject: String? = nil, as view: View.Type, what: String,
                               render: (View) -> String) async throws(AppCommandError) {
        let reply = try await client().call("GET", path, subject: subject)
        if json { return emitLine(reply.text) }
        emitLine(render(try MarathonClient.decode(view, from: reply, what: what)))
    }
}

/// `agora app tasks ID`.
struct AppTasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List the tasks (instances) of an app."
    )

    @OptionGroup var options: MarathonOptions

    @OptionGroup var app: AppIDArgument

    func run() async throws {
        try await app.reporting { appID in
            try await options.show(MarathonClient.appPath(appID, suffix: "/tasks"), subject: appID, as: TaskListView.self,
                                   what: "a task list") { list in
                list.tasks.isEmpty ? "\(appID) has no tasks" : AppTables.tasks(list.tasks, now: Date())
            }
        }
    }
}

/// `agora app kill TASK`.
struct AppKillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Kill one task; its app replaces it unless --scale is given.",
        discussion: "Task ids are shown by `agora app tasks ID`."
    )

    @OptionGroup var options: MarathonOptions

    @Argument(help: "The task id.")
    var task: String

    @Flag(help: "Also lower the app's instance count by one, so the task is not replaced.")
    var scale = false

    @Flag(help: "Forget the task's reservation and persistent volumes (resident apps).")
    var wipe = false

    func validate() throws {
        guard !(scale && wipe) else { throw ValidationError("--scale and --wipe cannot be used together") }
        guard !task.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("give the id of the task to kill") }
    }

    func run() async throws {
        try await reportingAppErrors {
            let body = try JSONSerialization.data(withJSONObject: ["ids": [task]])
            let reply = try await options.client().call(
                "POST", "/v2/tasks/delete",
                query: [URLQueryItem(name: "scale", value: String(scale)), URLQueryItem(name: "wipe", value: String(wipe))],
                json: body, expecting: [200, 202], subject: task)
            if options.json { return emitLine(reply.text) }
            if let deployment = deploymentID(of: reply) {
                emitLine("killing \(task) and scaling its app down: deployment \(deployment)")
                return
            }
            let killed = (try? JSONDecoder().decode(TaskListView.self, from: reply.body).tasks) ?? []
            guard !killed.isEmpty else {
                throw AppCommandError.failure("no task was killed: the server does not know the task \(task)")
            }
            for killedTask in killed {
                emitLine("killing \(killedTask.id)" + (killedTask.host.map { " on \($0)" } ?? ""))
            }
        }
    }
}

/// `agora app deployments`.
struct AppDeploymentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployments",
        abstract: "List the deployments in progress."
    )

    @OptionGroup var options: MarathonOptions

    func run() async throws {
        try await reportingAppErrors {
            try await options.show("/v2/deployments", as: [DeploymentView].self, what: "a deployment list") { deployments in
                deployments.isEmpty ? "no deployments in progress" : AppTables.deployments(deployments, now: Date())
            }
        }
    }
}

/// `agora app why ID`.
struct AppWhyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Explain why instances of an app are waiting to be launched.",
        discussion: "Reads the launch queue (GET /v2/queue): how many instances wait, any backoff delay, and why recent offers did not fit."
    )

    @OptionGroup var options: MarathonOptions

    @OptionGroup var app: AppIDArgument

    func run() async throws {
        try await app.reporting { appID in
            let client = try options.client()
            let reply = try await client.call("GET", "/v2/queue")
            let queue = try MarathonClient.decode(QueueView.self, from: reply, what: "a launch queue")
            let index = queue.queue.firstIndex { entry in entry.app.flatMap { AppManifest.normalizedAppID($0.id) } == appID }
            if options.json {
                let entries = ((try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any])?["queue"] as? [Any] ?? []
                let selected = index.flatMap { $0 < entries.count ? [entries[$0]] : nil } ?? []
                let data = try JSONSerialization.data(withJSONObject: ["queue": selected], options: [.sortedKeys, .withoutEscapingSlashes])
                return emitLine(String(decoding: data, as: UTF8.self))
            }
            if let index {
                for sentence in AppWaitExplanation.explain(queue.queue[index], now: Date()) { emitLine(sentence) }
                return
            }
            let appReply = try await client.call("GET", MarathonClient.appPath(appID), subject: appID)
            let app = try MarathonClient.decode(AppDetailView.self, from: appReply, what: "an app").app
            emitLine(AppWaitExplanation.nothingWaiting(app))
        }
    }
}

/// `agora app logs ID`.
struct AppLogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a task's stdout (or stderr) from its sandbox.",
        discussion: """
            Without --task, reads the app's newest running task (or its newest task when \
            none runs). --follow keeps printing new output every 500 ms until the task ends \
            or Ctrl-C. With --json, each piece of output is one JSON object per line.
            """
    )

    @OptionGroup var options: MarathonOptions

    @OptionGroup var app: AppIDArgument

    @Option(help: "The task to read, instead of the newest running one.")
    var task: String?

    @Flag(help: "Read stderr instead of stdout.")
    var stderr = false

    @Flag(name: [.short, .long], help: "Keep printing new output until the task ends (or Ctrl-C).")
    var follow = false

    func run() async throws {
        try await app.reporting { appID in
            let client = try options.client()
            let taskID: String
            if let task {
                taskID = task
            } else {
                let reply = try await client.call("GET", MarathonClient.appPath(appID, suffix: "/tasks"), subject: appID)
                let tasks = try MarathonClient.decode(TaskListView.self, from: reply, what: "a task list").tasks
                guard let newest = AppLogs.newestTask(tasks) else {
                    // Nothing runs (a crashing app between its relaunches): its last failed task.
                    let appReply = try await client.call("GET", MarathonClient.appPath(appID), subject: appID)
                    let failure = try MarathonClient.decode(AppDetailView.self, from: appReply, what: "an app").app.lastTaskFailure
                    guard let failed = failure?.taskId else {
                        throw AppCommandError.failure("\(appID) has no tasks to read logs from")
                    }
                    FileHandle.standardError.write(Data(
                        "no task of \(appID) is running; showing its last failed one, \(failed) (\(failure?.state ?? "failed"))\n".utf8))
                    try await stream(taskID: failed, client: client)
                    return
                }
                let chosen = newest.task
                if !newest.running {
                    FileHandle.standardError.write(Data(
                        "no task of \(appID) is running; showing the newest one, \(chosen.id) (\(chosen.state ?? "unknown state"))\n".utf8))
                }
                taskID = chosen.id
            }
            try await stream(taskID: taskID, client: client)
        }
    }

    private func stream(taskID: String, client: MarathonClient) async throws(AppCommandError) {
        let file = stderr ? "stderr" : "stdout"
        let path = "/agora/v1/tasks/\(MarathonClient.encodedPath(taskID))/files/\(file)"
        var offset = 0
        while true {
            let reply = try await client.send("GET", path, query: [URLQueryItem(name: "offset", value: String(offset))])
            if follow, [502, 503].contains(reply.status) {
                // The task's agent is not known or not reachable yet: try again.
                try? await Task.sleep(for: .milliseconds(500))
                continue
            }
            guard reply.status == 200 else {
                throw AppCommandError.failure("\(file) of \(taskID): " + MarathonErrorText.describe(status: reply.status, body: reply.body))
            }
            let state = reply.header("X-Agora-Task-State")
            if !reply.body.isEmpty {
                if options.json {
                    var object: [String: Any] = ["taskId": taskID, "file": file, "offset": offset, "data": reply.text]
                    if let state { object["state"] = state }
                    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                        emitLine(String(decoding: data, as: UTF8.self))
                    }
                } else {
                    FileHandle.standardOutput.write(reply.body)
                }
                offset += reply.body.count
            }
            guard follow else { return }
            if reply.body.isEmpty, let state, AppFormat.isTerminal(taskState: state) {
                if !options.json {
                    FileHandle.standardError.write(Data("task \(taskID) ended: \(state)\n".utf8))
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}

/// Choosing the task whose logs to show, with no I/O.
enum AppLogs {
    /// The newest running task (by start time), or the newest task of any state when
    /// none runs; `running` tells which. Nil when there are no tasks.
    static func newestTask(_ tasks: [TaskView]) -> (task: TaskView, running: Bool)? {
        func started(_ task: TaskView) -> Date {
            (task.startedAt ?? task.stagedAt).flatMap(AppFormat.date) ?? .distantPast
        }
        let running = tasks.filter { $0.state == "TASK_RUNNING" }
        if let newest = running.max(by: { started($0) < started($1) }) { return (newest, true) }
        return tasks.max(by: { started($0) < started($1) }).map { ($0, false) }
    }
}

/// The text tables and details of the `agora app` commands, with no I/O.
enum AppTables {
    /// Longest command shown in `list`.
    static let commandWidth = 40

    static func apps(_ apps: [AppView]) -> String {
        guard !apps.isEmpty else { return "no apps" }
        var table = Table(["ID", "INSTANCES", "HEALTHY", "CPUS", "MEM", "DEPLOYING", "CMD"])
        for app in apps.sorted(by: { $0.id < $1.id }) {
            let healthChecked = !(app.healthChecks ?? []).isEmpty
            table.add([
                app.id,
                "\(app.tasksRunning ?? 0)/\(app.instances ?? 0)",
                healthChecked ? String(app.tasksHealthy ?? 0) : "-",
                app.cpus.map(AppFormat.number) ?? "-",
                app.mem.map(AppFormat.number) ?? "-",
                (app.deployments ?? []).isEmpty ? "no" : "yes",
                AppFormat.truncated(app.commandLine, to: commandWidth),
            ])
        }
        return table.render()
    }

    static func tasks(_ tasks: [TaskView], now: Date) -> String {
        var table = Table(["TASK ID", "HOST", "STATE", "HEALTH", "PORTS", "STARTED"])
        for task in tasks.sorted(by: { $0.id < $1.id }) {
            table.add([
                task.id, task.host ?? "-", task.state ?? "-", task.health,
                (task.ports ?? []).isEmpty ? "-" : (task.ports ?? []).map(String.init).joined(separator: ","),
                AppFormat.age(task.startedAt, now: now),
            ])
        }
        return table.render()
    }

    static func deployments(_ deployments: [DeploymentView], now: Date) -> String {
        var table = Table(["ID", "APPS", "ACTIONS", "STEP", "STARTED"])
        for deployment in deployments {
            let actions = (deployment.currentActions ?? []).map { action in
                [action.action, action.app].compactMap { $0 }.joined(separator: " ")
            }
            table.add([
                deployment.id,
                (deployment.affectedApps ?? []).joined(separator: ","),
                actions.isEmpty ? "-" : actions.joined(separator: ", "),
                "\(deployment.currentStep ?? 0)/\(deployment.totalSteps ?? 0)",
                AppFormat.age(deployment.version, now: now),
            ])
        }
        return table.render()
    }

    /// `agora app show`: the app's fields, its tasks and its last failure.
    static func details(_ app: AppView, now: Date) -> String {
        var fields: [(String, String)] = [("id", app.id)]
        if let cmd = app.cmd { fields.append(("cmd", cmd)) }
        if let args = app.args, !args.isEmpty { fields.append(("args", args.joined(separator: " "))) }
        var instances = String(app.instances ?? 0)
        instances += " (running \(app.tasksRunning ?? 0), staged \(app.tasksStaged ?? 0)"
        if !(app.healthChecks ?? []).isEmpty {
            instances += ", healthy \(app.tasksHealthy ?? 0), unhealthy \(app.tasksUnhealthy ?? 0)"
        }
        fields.append(("instances", instances + ")"))
        var resources = ["cpus \(app.cpus.map(AppFormat.number) ?? "-")", "mem \(app.mem.map(AppFormat.number) ?? "-") MB"]
        if let disk = app.disk, disk > 0 { resources.append("disk \(AppFormat.number(disk)) MB") }
        if let gpus = app.gpus, gpus > 0 { resources.append("gpus \(AppFormat.number(gpus))") }
        fields.append(("resources", resources.joined(separator: ", ")))
        if let ports = app.portDefinitions, !ports.isEmpty {
            let texts = ports.map { port in
                String(port.port ?? 0) + (port.name.map { " (\($0))" } ?? "") + (port.protocol.map { "/\($0)" } ?? "")
            }
            fields.append(("ports", texts.joined(separator: ", ") + (app.requirePorts == true ? ", required as host ports" : "")))
        }
        if !app.constraintTexts.isEmpty { fields.append(("constraints", app.constraintTexts.joined(separator: ", "))) }
        for check in app.healthChecks ?? [] {
            var text = check.protocol ?? "HTTP"
            if let path = check.path { text += " " + path }
            if let command = check.command { text += " " + commandText(command) }
            if let interval = check.intervalSeconds { text += ", every \(AppFormat.number(interval))s" }
            if let failures = check.maxConsecutiveFailures { text += ", kill after \(AppFormat.count(failures, "failure"))" }
            fields.append(("health check", text))
        }
        if let env = app.env, !env.isEmpty {
            fields.append(("env", env.keys.sorted().map { "\($0)=\(env[$0]!.text)" }.joined(separator: " ")))
        }
        if let labels = app.labels, !labels.isEmpty {
            fields.append(("labels", labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: " ")))
        }
        if let version = app.version { fields.append(("version", version)) }
        let deployments = (app.deployments ?? []).map(\.id)
        fields.append(("deployments", deployments.isEmpty ? "none" : deployments.joined(separator: ", ")))

        let width = fields.map(\.0.count).max() ?? 0
        var lines = fields.map { name, value in (name + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0) + value }
        lines.append("")
        if let tasks = app.tasks, !tasks.isEmpty {
            lines.append(Self.tasks(tasks, now: now))
        } else {
            lines.append("no tasks")
        }
        if let failure = app.lastTaskFailure {
            lines.append("")
            var text = "last failure: \(failure.state ?? "unknown state")"
            if let host = failure.host { text += " on \(host)" }
            if let timestamp = failure.timestamp { text += ", \(AppFormat.age(timestamp, now: now))" }
            if let message = failure.message, !message.isEmpty { text += ": \(message)" }
            if let taskID = failure.taskId { text += " (task \(taskID))" }
            lines.append(text)
        }
        return lines.joined(separator: "\n")
    }

    /// A COMMAND health check's `command`: `{"value": "…"}` or a bare string.
    private static func commandText(_ command: AppJSONValue) -> String {
        if case .object(let fields) = command, let value = fields["value"] { return value.text }
        return command.text
    }
}
