/// A task as Marathon's `/v2/tasks` and `/v2/apps/{id}/tasks` write it.
///
/// Only keys the Python client's `MarathonTask` accepts; optional ones are left out when `nil`.
public struct TaskJSON: Sendable, Hashable, Codable {
    public var id: String
    public var appId: PathID
    public var host: String
    /// The host ports assigned to the task, in port-definition order.
    public var ports: [Int]
    /// The app's service ports (its declared ports).
    public var servicePorts: [Int]
    /// The agent's id.
    public var slaveId: String
    /// The Mesos state name, e.g. `TASK_RUNNING`.
    public var state: String
    public var stagedAt: MarathonTimestamp?
    public var startedAt: MarathonTimestamp?
    /// The app version the task runs.
    public var version: MarathonTimestamp?
    public var ipAddresses: [IPAddressJSON]
    public var healthCheckResults: [HealthCheckResultJSON]
    public var localVolumes: [MarathonJSON]?
    public var region: String?
    public var zone: String?
    public var role: String?

    public init(id: String, appId: PathID, host: String, ports: [Int] = [], servicePorts: [Int] = [],
                slaveId: String, state: String, stagedAt: MarathonTimestamp? = nil,
                startedAt: MarathonTimestamp? = nil, version: MarathonTimestamp? = nil,
                ipAddresses: [IPAddressJSON] = [], healthCheckResults: [HealthCheckResultJSON] = [],
                region: String? = nil, zone: String? = nil, role: String? = nil) {
        self.id = id
        self.appId = appId
        self.host = host
        self.ports = ports
        self.servicePorts = servicePorts
        self.slaveId = slaveId
        self.state = state
        self.stagedAt = stagedAt
        self.startedAt = startedAt
        self.version = version
        self.ipAddresses = ipAddresses
        self.healthCheckResults = healthCheckResults
        self.localVolumes = nil
        self.region = region
        self.zone = zone
        self.role = role
    }
}

/// `{ipAddress, protocol}` of a task (`protocol` is `IPv4` or `IPv6`).
public struct IPAddressJSON: Sendable, Hashable, Codable {
    public var ipAddress: String
    public var `protocol`: String

    public init(ipAddress: String, protocol: String = "IPv4") {
        self.ipAddress = ipAddress
        self.protocol = `protocol`
    }
}

/// The state of one health check of one task.
public struct HealthCheckResultJSON: Sendable, Hashable, Codable {
    public var alive: Bool
    public var consecutiveFailures: Int
    public var firstSuccess: MarathonTimestamp?
    public var lastSuccess: MarathonTimestamp?
    public var lastFailure: MarathonTimestamp?
    public var lastFailureCause: String?
    /// Marathon 1.10 names the instance; older versions the task. Both are accepted by the client.
    public var instanceId: String?
    public var taskId: String?

    public init(alive: Bool, consecutiveFailures: Int = 0, firstSuccess: MarathonTimestamp? = nil,
                lastSuccess: MarathonTimestamp? = nil, lastFailure: MarathonTimestamp? = nil,
                lastFailureCause: String? = nil, instanceId: String? = nil, taskId: String? = nil) {
        self.alive = alive
        self.consecutiveFailures = consecutiveFailures
        self.firstSuccess = firstSuccess
        self.lastSuccess = lastSuccess
        self.lastFailure = lastFailure
        self.lastFailureCause = lastFailureCause
        self.instanceId = instanceId
        self.taskId = taskId
    }
}

/// An app's `lastTaskFailure`: the most recent task that ended badly.
public struct TaskFailureJSON: Sendable, Hashable, Codable {
    public var appId: PathID
    public var host: String
    public var message: String
    /// The terminal state, e.g. `TASK_FAILED`.
    public var state: String
    public var taskId: String
    public var instanceId: String?
    public var slaveId: String?
    public var timestamp: MarathonTimestamp
    public var version: MarathonTimestamp

    public init(appId: PathID, host: String, message: String, state: String, taskId: String,
                instanceId: String? = nil, slaveId: String? = nil, timestamp: MarathonTimestamp,
                version: MarathonTimestamp) {
        self.appId = appId
        self.host = host
        self.message = message
        self.state = state
        self.taskId = taskId
        self.instanceId = instanceId
        self.slaveId = slaveId
        self.timestamp = timestamp
        self.version = version
    }
}

/// The result of a readiness check of a task during a deployment.
public struct ReadinessCheckResultJSON: Sendable, Hashable, Codable {
    /// What the last probe returned.
    public struct Response: Sendable, Hashable, Codable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int, contentType: String, body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public var name: String
    public var taskId: String
    public var ready: Bool
    public var lastResponse: Response?

    public init(name: String, taskId: String, ready: Bool, lastResponse: Response? = nil) {
        self.name = name
        self.taskId = taskId
        self.ready = ready
        self.lastResponse = lastResponse
    }
}
