import AgoraProto
import Foundation
import Snapshots
import Resources

/// Resources as JSON: scalars as numbers, ranges and sets as text, plus the agent syntax.
public struct ResourcesView: Codable, Sendable, Equatable {
    public var cpus: Double
    public var mem: Double
    public var disk: Double
    public var gpus: Double
    public var ports: String
    /// The whole bag in the agent syntax, e.g. `cpus:2;mem:1024;ports:[31000-32000]`.
    public var text: String

    public init(_ resources: Resources) {
        cpus = resources.cpus.doubleValue
        mem = resources.mem.doubleValue
        disk = resources.disk.doubleValue
        gpus = resources.gpus.doubleValue
        ports = resources.ports.description
        text = resources.description
    }
}

/// The JSON document served at `/state`; `/state-summary` serves it with empty `tasks`
/// and `completedTasks` (the counts stay: `taskCounts`, and each agent's and framework's
/// `taskCount`), which at 100k tasks is a small fraction of the size and the work.
public struct MasterStateView: Codable, Sendable {
    public struct Agent: Codable, Sendable {
        public var id: String
        public var hostname: String
        public var active: Bool
        /// `active`, `recovering` (known from the registry, waiting to re-register after
        /// a master restart) or `unreachable`. Optional for older masters' documents.
        public var state: String?
        public var registeredAt: Double
        public var unreachableSince: Double?
        public var httpAddress: String
        public var attributes: [String: String]
        public var total: ResourcesView
        public var used: ResourcesView
        public var offered: ResourcesView
        public var free: ResourcesView
        public var taskCount: Int
    }

    public struct Framework: Codable, Sendable {
        public var id: String
        public var name: String
        public var user: String
        public var roles: [String]
        public var suppressedRoles: [String]
        public var connected: Bool
        public var partitionAware: Bool
        public var failoverTimeoutSeconds: Double
        public var dominantShare: Double
        public var offers: [Offer]
        public var taskCount: Int
    }

    public struct Offer: Codable, Sendable {
        public var id: String
        public var agentID: String
        public var role: String
        public var resources: ResourcesView
    }

    public struct Task: Codable, Sendable {
        public var id: String
        public var name: String
        public var frameworkID: String
        public var agentID: String
        public var executorID: String?
        public var state: String
        public var resources: ResourcesView
        public var message: String?
        public var reason: String?
    }

    public var masterID: String
    public var hostname: String
    public var version: String
    public var address: String
    public var startTime: Double
    public var uptimeSeconds: Double
    public var agents: [Agent]
    public var frameworks: [Framework]
    /// Tasks by state name (`TASK_RUNNING`, …): live ones and the recently completed ones
    /// listed in `completedTasks`. Optional for older masters' documents.
    public var taskCounts: [String: Int]?
    public var tasks: [Task]
    public var completedTasks: [Task]
    public var roleShares: [String: Double]
}

extension MasterCore {
    /// A point-in-time view for `/state` (or, without the task lists, `/state-summary`);
    /// built by the shell outside the request path.
    public func stateView(now: Duration, includingTasks: Bool = true) -> MasterStateView {
        let start = configuration.startedAtUnixSeconds
        // One pass over offers and executors for all agents (not one per agent).
        var offeredByAgent: [AgentID: Resources] = [:]
        for offer in offers.values { offeredByAgent[offer.agentID, default: Resources()] += offer.resources }
        var executorsByAgent: [AgentID: Resources] = [:]
        for (key, resources) in executors { executorsByAgent[key.agentID, default: Resources()] += resources }
        let agentViews = agents.values.sorted { $0.id < $1.id }.map { agent -> MasterStateView.Agent in
            var used = executorsByAgent[agent.id] ?? Resources()
            for key in agent.tasks {
                if let task = tasks[key], task.holdsResources { used += task.resources }
            }
            let offered = offeredByAgent[agent.id] ?? Resources()
            return MasterStateView.Agent(
                id: agent.id, hostname: agent.hostname, active: agent.isReachable,
                state: agent.isReachable ? "active" : agent.isRecovering ? "recovering" : "unreachable",
                registeredAt: start + agent.registeredAt.seconds,
                unreachableSince: agent.unreachableSince.map { start + $0.seconds },
                httpAddress: agent.httpAddress,
                attributes: Dictionary(agent.attributes.map { ($0.name, $0.valueText) }, uniquingKeysWith: { a, _ in a }),
                total: ResourcesView(agent.total), used: ResourcesView(used), offered: ResourcesView(offered),
                free: ResourcesView(agent.total - used - offered), taskCount: agent.tasks.count)
        }
        let frameworkViews = frameworks.values.sorted { $0.id < $1.id }.map { framework in
            MasterStateView.Framework(
                id: framework.id, name: framework.info.name, user: framework.info.user,
                roles: framework.roles.sorted(), suppressedRoles: framework.suppressedRoles.sorted(),
                connected: framework.isConnected, partitionAware: framework.isPartitionAware,
                failoverTimeoutSeconds: framework.failoverTimeout.seconds,
                dominantShare: allocator.dominantShare(of: framework.id),
                offers: framework.offers.sorted().compactMap { offers[$0] }.map {
                    MasterStateView.Offer(id: $0.id, agentID: $0.agentID, role: $0.role, resources: ResourcesView($0.resources))
                },
                taskCount: framework.tasks.count)
        }
        var roles: Set<Role> = []
        for framework in frameworks.values { roles.formUnion(framework.roles) }
        return MasterStateView(
            masterID: configuration.runID, hostname: configuration.hostname, version: configuration.version,
            address: configuration.advertisedAddress, startTime: start, uptimeSeconds: now.seconds,
            agents: agentViews, frameworks: frameworkViews, taskCounts: taskCountsByState(),
            tasks: includingTasks ? liveTaskViews() : [],
            completedTasks: includingTasks ? completedTasks.map(Self.taskView) : [],
            roleShares: Dictionary(uniqueKeysWithValues: roles.map { ($0, allocator.roleShare(of: $0)) }))
    }

    /// Live tasks by framework ID and task ID, as `/state` lists them.
    func liveTaskViews() -> [MasterStateView.Task] {
        tasks.values.sorted { $0.key < $1.key }.map(Self.taskView)
    }

    /// What `/tasks` pages through: the live tasks, then the recently completed ones in
    /// the order they completed, as `/state` lists them.
    public func taskListing() -> JSONListing {
        MasterStateView.taskListing(liveTaskViews() + completedTasks.map(Self.taskView))
    }

    /// Live and recently completed tasks by state name.
    func taskCountsByState() -> [String: Int] {
        var counts: [String: Int] = [:]
        for task in tasks.values { counts[task.state.name, default: 0] += 1 }
        for task in completedTasks { counts[task.state.name, default: 0] += 1 }
        return counts
    }

    static func taskView(_ task: TaskRecord) -> MasterStateView.Task {
        MasterStateView.Task(
            id: task.key.taskID, name: task.name, frameworkID: task.key.frameworkID, agentID: task.agentID,
            executorID: task.executorID, state: task.state.name, resources: ResourcesView(task.resources),
            message: task.latestStatus.flatMap { $0.hasMessage ? $0.message : nil },
            reason: task.latestStatus.flatMap { $0.hasReason ? String(describing: $0.reason) : nil })
    }

    /// Prometheus text exposition of the master's counters and gauges.
    public func metricsText(messaging: [String: Int]) -> String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
            lines.append("# HELP agora_master_\(name) \(help)")
            lines.append("# TYPE agora_master_\(name) gauge")
            for sample in samples {
                let value = sample.value == sample.value.rounded() ? String(Int64(sample.value)) : String(sample.value)
                lines.append("agora_master_\(name)\(sample.labels.isEmpty ? "" : "{\(sample.labels)}") \(value)")
            }
        }
        func counter(_ name: String, _ help: String, _ value: Int) {
            lines.append("# HELP agora_master_\(name) \(help)")
            lines.append("# TYPE agora_master_\(name) counter")
            lines.append("agora_master_\(name) \(value)")
        }
        let reachable = agents.values.filter(\.isReachable).count
        gauge("agents", "Agents known to the master, by state.",
              [("state=\"active\"", Double(reachable)), ("state=\"recovering\"", Double(recoveringAgents.count)),
               ("state=\"unreachable\"", Double(agents.count - reachable - recoveringAgents.count)),
               ("state=\"gone\"", Double(goneAgents.count))])
        let connected = frameworks.values.filter(\.isConnected).count
        gauge("frameworks", "Frameworks known to the master, by state.",
              [("state=\"connected\"", Double(connected)), ("state=\"disconnected\"", Double(frameworks.count - connected))])
        let byState = taskCountsByState()
        gauge("tasks", "Tasks by state (terminal ones among the recently completed).",
              byState.keys.sorted().map { ("state=\"\($0)\"", Double(byState[$0]!)) })
        gauge("offers_outstanding", "Offers waiting for an answer.", [("", Double(offers.count))])
        gauge("allocation_run_seconds", "Duration of the last allocation cycle.", [("", lastAllocationDuration.seconds)])
        counter("allocation_runs_total", "Allocation cycles run.", counters.allocationRuns)
        counter("offers_sent_total", "Offers sent to frameworks.", counters.offersSent)
        counter("offers_declined_total", "Offers declined.", counters.offersDeclined)
        counter("offers_accepted_total", "Offers accepted.", counters.offersAccepted)
        counter("offers_rescinded_total", "Offers rescinded (timeout, agent lost, framework gone).", counters.offersRescinded)
        counter("tasks_launched_total", "Tasks launched.", counters.tasksLaunched)
        counter("tasks_invalid_total", "Tasks refused by validation.", counters.tasksInvalid)
        counter("status_updates_total", "Status updates received from agents.", counters.statusUpdates)
        counter("invalid_calls_total", "Calls and messages refused as invalid.", counters.invalidCalls)
        counter("misaddressed_messages_total", "Messages naming an agent or framework connected elsewhere.", counters.misaddressedMessages)
        counter("agents_registered_total", "Agent registrations.", counters.agentsRegistered)
        counter("agents_reregistered_total", "Agent re-registrations.", counters.agentsReregistered)
        counter("agents_unreachable_total", "Agents marked unreachable.", counters.agentsMarkedUnreachable)
        counter("gone_agents_refused_total", "Re-registrations of removed agents, told to shut down.",
                counters.goneAgentsRefused)
        counter("frameworks_torn_down_total", "Frameworks torn down.", counters.frameworksTornDown)
        lines.append("# HELP agora_master_messages_total Messages on the master's socket, by kind.")
        lines.append("# TYPE agora_master_messages_total counter")
        for key in messaging.keys.sorted() {
            lines.append("agora_master_messages_total{kind=\"\(key)\"} \(messaging[key]!)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
