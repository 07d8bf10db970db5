import AgoraProto
import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Master

/// Where the client commands find the master's HTTP API.
struct MasterHTTPOptions: ParsableArguments {
    @Option(name: .customLong("master-http"),
            help: "The master's HTTP base URL (or set AGORA_MASTER_HTTP).")
    var url = ProcessInfo.processInfo.environment["AGORA_MASTER_HTTP"] ?? "http://127.0.0.1:5080"

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    /// Fetches and decodes the master's `/state`, or with `summary` its `/state-summary`
    /// (the same document without the task lists: small however many tasks run).
    func fetchState(summary: Bool = false) async throws -> (MasterStateView, Data) {
        let path = summary ? "/state-summary" : "/state"
        let data = try await get(path)
        return (try decode(MasterStateView.self, from: data, path: path), data)
    }

    /// One page of the master's `/tasks`, in its listing's order (live tasks, then
    /// recently completed ones), optionally only `frameworkID`'s.
    func fetchTasks(offset: Int, limit: Int, frameworkID: String?) async throws -> [MasterStateView.Task] {
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "order", value: "asc"), URLQueryItem(name: "offset", value: String(offset)),
                            URLQueryItem(name: "limit", value: String(limit))]
        if let frameworkID { query.queryItems?.append(URLQueryItem(name: "framework_id", value: frameworkID)) }
        let path = "/tasks" + (query.string ?? "")
        struct Page: Decodable { let tasks: [MasterStateView.Task] }
        return try decode(Page.self, from: try await get(path), path: "/tasks").tasks
    }

    /// `url` without a trailing slash.
    private var base: String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    private func get(_ path: String) async throws -> Data {
        guard let endpoint = URL(string: base + path), endpoint.scheme == "http" || endpoint.scheme == "https" else {
            throw ValidationError("invalid --master-http \"\(url)\": expected a URL like http://127.0.0.1:5080")
        }
        do {
            let (body, response) = try await URLSession.shared.data(from: endpoint)
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
                let reason = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw ValidationError("the master at \(base) answered \(path) with an error\(reason.isEmpty ? "" : ": \(reason)")")
            }
            return body
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("cannot reach the master at \(base): \(error.localizedDescription)")
        }
    }

    private func decode<Document: Decodable>(_ type: Document.Type, from data: Data, path: String) throws -> Document {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw ValidationError("the master at \(base) sent a \(path) this client does not understand: \(error)")
        }
    }
}

/// `agora cluster status`.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Inspect the cluster.",
        subcommands: [ClusterStatusCommand.self],
        defaultSubcommand: ClusterStatusCommand.self
    )
}

struct ClusterStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Agents with their resource use, frameworks, and tasks by state."
    )

    @OptionGroup var options: MasterHTTPOptions

    func run() async throws {
        let (state, raw) = try await options.fetchState(summary: true)
        if options.json {
            emitLine(String(decoding: raw, as: UTF8.self))
            return
        }
        emitLine("master \(state.masterID) at \(state.address), version \(state.version), up \(Table.duration(state.uptimeSeconds))")
        emitLine("")
        var agents = Table(["AGENT", "HOST", "STATE", "CPUS", "MEM (MB)", "TASKS"])
        for agent in state.agents {
            agents.add([agent.id, agent.hostname, agent.state ?? (agent.active ? "active" : "unreachable"),
                        Table.usage(agent.used.cpus + agent.offered.cpus, of: agent.total.cpus, format: "%.1f"),
                        Table.usage(agent.used.mem + agent.offered.mem, of: agent.total.mem, format: "%.0f"),
                        String(agent.taskCount)])
        }
        emitLine(state.agents.isEmpty ? "no agents" : agents.render())
        emitLine("(usage counts resources in use by tasks and offered to frameworks)")
        emitLine("")
        emitLine(FrameworksCommand.table(state))
        emitLine("")
        let counts = state.taskCounts ?? [:]
        emitLine(counts.isEmpty ? "no tasks"
            : "tasks: " + counts.keys.sorted().map { "\(counts[$0]!) \($0.replacingOccurrences(of: "TASK_", with: "").lowercased())" }.joined(separator: ", "))
    }
}

/// `agora tasks`.
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List tasks: running ones, then recently completed ones.",
        discussion: """
            Reads the master's /tasks a page at a time: with --limit or --framework, a large \
            cluster's task list is not downloaded whole for a few lines.
            """
    )

    /// Tasks asked for per `/tasks` request.
    static let pageSize = 1_000
    /// The states a task does not leave (left out without `--all`).
    static let terminalStates = Set(Agora_V1_TaskState.allCases.filter(\.isTerminal).map(\.name))

    @OptionGroup var options: MasterHTTPOptions

    @Flag(help: "Also list recently completed tasks.")
    var all = false

    @Option(help: "Only the tasks of the framework with this ID.")
    var framework: String?

    @Option(help: "List at most this many tasks.")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more, not \(limit)") }
    }

    /// The tasks to list, from pages of `pageSize` that `fetch(offset)` returns: those
    /// not ended unless `all`, at most `limit`, and no page more than needed. Pages come
    /// from the master's latest listings, so a task that moved between two of them is
    /// listed once.
    static func collect(all: Bool, limit: Int?, pageSize: Int,
                        fetch: (Int) async throws -> [MasterStateView.Task]) async throws -> [MasterStateView.Task] {
        var tasks: [MasterStateView.Task] = []
        var listed: Set<[String]> = []
        var offset = 0
        pages: while tasks.count < (limit ?? .max) {
            let page = try await fetch(offset)
            for task in page where all || !terminalStates.contains(task.state) {
                guard listed.insert([task.frameworkID, task.id]).inserted else { continue }
                tasks.append(task)
                if tasks.count == limit { break pages }
            }
            if page.count < pageSize { break }
            offset += page.count
        }
        return tasks
    }

    func run() async throws {
        let tasks = try await Self.collect(all: all, limit: limit, pageSize: Self.pageSize) { offset in
            try await options.fetchTasks(offset: offset, limit: Self.pageSize, frameworkID: framework)
        }
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            emitLine(String(decoding: try encoder.encode(tasks), as: UTF8.self))
            return
        }
        guard !tasks.isEmpty else {
            emitLine(all ? "no tasks" : "no running tasks (--all shows completed ones)")
            return
        }
        var table = Table(["TASK", "FRAMEWORK", "AGENT", "STATE", "CPUS", "MEM", "MESSAGE"])
        for task in tasks {
            table.add([task.id, task.frameworkID, task.agentID, task.state, String(format: "%g", task.resources.cpus),
                       String(format: "%g", task.resources.mem), task.message ?? ""])
        }
        emitLine(table.render())
    }
}

/// `agora frameworks`.
struct FrameworksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frameworks",
        abstract: "List frameworks with their roles, shares, offers and tasks."
    )

    @OptionGroup var options: MasterHTTPOptions

    func run() async throws {
        let (state, _) = try await options.fetchState(summary: true)
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            emitLine(String(decoding: try encoder.encode(state.frameworks), as: UTF8.self))
            return
        }
        emitLine(Self.table(state))
    }

    static func table(_ state: MasterStateView) -> String {
        guard !state.frameworks.isEmpty else { return "no frameworks" }
        var table = Table(["FRAMEWORK", "NAME", "ROLES", "CONNECTED", "SHARE", "OFFERS", "TASKS"])
        for framework in state.frameworks {
            table.add([framework.id, framework.name, framework.roles.joined(separator: ","),
                       framework.connected ? "yes" : "no", String(format: "%.1f%%", framework.dominantShare * 100),
                       String(framework.offers.count), String(framework.taskCount)])
        }
        return table.render()
    }
}

/// A plain-text table with left-aligned columns.
struct Table {
    private let headers: [String]
    private var rows: [[String]] = []

    init(_ headers: [String]) {
        self.headers = headers
    }

    mutating func add(_ row: [String]) {
        rows.append(row)
    }

    func render() -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `[####------] 1.0/2.0`
    static func usage(_ used: Double, of total: Double, format: String) -> String {
        let width = 10
        let filled = total > 0 ? min(width, Int((used / total * Double(width)).rounded())) : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + String(format: format, used) + "/" + String(format: format, total)
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        if total < 60 { return "\(total)s" }
        if total < 3_600 { return "\(total / 60)m\(total % 60)s" }
        return "\(total / 3_600)h\(total % 3_600 / 60)m"
    }
}
