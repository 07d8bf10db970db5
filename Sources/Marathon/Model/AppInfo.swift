/// An app as GET `/v2/apps` and `/v2/apps/{id}` answer it: the definition plus its
/// task counts, deployments, and optionally tasks and the last failure.
///
/// Encodes into one object (the app's keys beside the extra ones), with only keys the
/// Python client's `MarathonApp` accepts.
public struct AppInfo: Sendable, Hashable, Codable {
    /// `{"id": deploymentID}`, a deployment that touches the app.
    public struct DeploymentRef: Sendable, Hashable, Codable {
        public var id: String

        public init(id: String) { self.id = id }
    }

    public var app: AppDefinition
    public var tasksStaged: Int
    public var tasksRunning: Int
    public var tasksHealthy: Int
    public var tasksUnhealthy: Int
    public var deployments: [DeploymentRef]
    /// Embedded with `embed=app.tasks` (always on `/v2/apps/{id}`).
    public var tasks: [TaskJSON]?
    public var lastTaskFailure: TaskFailureJSON?
    /// Embedded with `embed=app.readiness`.
    public var readinessCheckResults: [ReadinessCheckResultJSON]?

    public init(app: AppDefinition, tasksStaged: Int = 0, tasksRunning: Int = 0, tasksHealthy: Int = 0,
                tasksUnhealthy: Int = 0, deployments: [DeploymentRef] = [], tasks: [TaskJSON]? = nil,
                lastTaskFailure: TaskFailureJSON? = nil, readinessCheckResults: [ReadinessCheckResultJSON]? = nil) {
        self.app = app
        self.tasksStaged = tasksStaged
        self.tasksRunning = tasksRunning
        self.tasksHealthy = tasksHealthy
        self.tasksUnhealthy = tasksUnhealthy
        self.deployments = deployments
        self.tasks = tasks
        self.lastTaskFailure = lastTaskFailure
        self.readinessCheckResults = readinessCheckResults
    }

    private enum CodingKeys: String, CodingKey {
        case tasksStaged, tasksRunning, tasksHealthy, tasksUnhealthy, deployments, tasks, lastTaskFailure,
             readinessCheckResults
    }

    public init(from decoder: any Decoder) throws {
        app = try AppDefinition(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tasksStaged = try container.decodeIfPresent(Int.self, forKey: .tasksStaged) ?? 0
        tasksRunning = try container.decodeIfPresent(Int.self, forKey: .tasksRunning) ?? 0
        tasksHealthy = try container.decodeIfPresent(Int.self, forKey: .tasksHealthy) ?? 0
        tasksUnhealthy = try container.decodeIfPresent(Int.self, forKey: .tasksUnhealthy) ?? 0
        deployments = try container.decodeIfPresent([DeploymentRef].self, forKey: .deployments) ?? []
        tasks = try container.decodeIfPresent([TaskJSON].self, forKey: .tasks)
        lastTaskFailure = try container.decodeIfPresent(TaskFailureJSON.self, forKey: .lastTaskFailure)
        readinessCheckResults = try container.decodeIfPresent([ReadinessCheckResultJSON].self,
                                                              forKey: .readinessCheckResults)
    }

    public func encode(to encoder: any Encoder) throws {
        try app.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tasksStaged, forKey: .tasksStaged)
        try container.encode(tasksRunning, forKey: .tasksRunning)
        try container.encode(tasksHealthy, forKey: .tasksHealthy)
        try container.encode(tasksUnhealthy, forKey: .tasksUnhealthy)
        try container.encode(deployments, forKey: .deployments)
        try container.encodeIfPresent(tasks, forKey: .tasks)
        try container.encodeIfPresent(lastTaskFailure, forKey: .lastTaskFailure)
        try container.encodeIfPresent(readinessCheckResults, forKey: .readinessCheckResults)
    }
}
