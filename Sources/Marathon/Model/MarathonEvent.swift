/// An event of Marathon's event bus (`/v2/events`, server-sent events).
///
/// `json(at:)` gives the `data:` object with `eventType` and `timestamp` and the
/// fields the Python client's event classes read; `sseFrame(at:)` the whole frame.
/// Time is an input, so the caller decides the timestamp.
public enum MarathonEvent: Sendable, Hashable {
    /// The first event on a new stream.
    case eventStreamAttached(remoteAddress: String)
    /// An app was created or changed through the API.
    case apiPost(clientIp: String, uri: String, appDefinition: AppDefinition)
    /// A task changed state.
    case statusUpdate(StatusUpdate)
    /// A deployment started.
    case deploymentInfo(plan: DeploymentPlanJSON, currentStep: DeploymentStepJSON)
    case deploymentSuccess(plan: DeploymentPlanJSON)
    /// A deployment failed (Agora ends stuck deployments with a reason).
    case deploymentFailed(plan: DeploymentPlanJSON, reason: String?)
    case deploymentStepSuccess(plan: DeploymentPlanJSON, currentStep: DeploymentStepJSON)
    case deploymentStepFailure(plan: DeploymentPlanJSON, currentStep: DeploymentStepJSON)
    case healthStatusChanged(appId: PathID, taskId: String, instanceId: String, version: MarathonTimestamp, alive: Bool)
    case unhealthyTaskKill(appId: PathID, taskId: String, instanceId: String, version: MarathonTimestamp,
                           reason: String, host: String, slaveId: String)
    case failedHealthCheck(appId: PathID, taskId: String, instanceId: String, healthCheck: HealthCheck)
    /// An app was deleted and all its instances are gone.
    case appTerminated(appId: PathID)

    /// The fields of a `status_update_event`.
    public struct StatusUpdate: Sendable, Hashable {
        public var slaveId: String
        public var taskId: String
        /// The Mesos state name, e.g. `TASK_RUNNING`.
        public var taskStatus: String
        public var message: String
        public var appId: PathID
        public var host: String
        public var ipAddresses: [IPAddressJSON]
        public var ports: [Int]
        public var version: MarathonTimestamp

        public init(slaveId: String, taskId: String, taskStatus: String, message: String = "", appId: PathID,
                    host: String, ipAddresses: [IPAddressJSON] = [], ports: [Int] = [], version: MarathonTimestamp) {
            self.slaveId = slaveId
            self.taskId = taskId
            self.taskStatus = taskStatus
            self.message = message
            self.appId = appId
            self.host = host
            self.ipAddresses = ipAddresses
            self.ports = ports
            self.version = version
        }
    }

    /// Every event type this enum produces, for `?event_type=` filtering.
    public static let eventTypes: Set<String> = [
        "event_stream_attached", "api_post_event", "status_update_event", "deployment_info", "deployment_success",
        "deployment_failed", "deployment_step_success", "deployment_step_failure", "health_status_changed_event",
        "unhealthy_task_kill_event", "failed_health_check_event", "app_terminated_event",
    ]

    /// Marathon's `eventType`, e.g. `status_update_event`.
    public var eventType: String {
        switch self {
        case .eventStreamAttached: "event_stream_attached"
        case .apiPost: "api_post_event"
        case .statusUpdate: "status_update_event"
        case .deploymentInfo: "deployment_info"
        case .deploymentSuccess: "deployment_success"
        case .deploymentFailed: "deployment_failed"
        case .deploymentStepSuccess: "deployment_step_success"
        case .deploymentStepFailure: "deployment_step_failure"
        case .healthStatusChanged: "health_status_changed_event"
        case .unhealthyTaskKill: "unhealthy_task_kill_event"
        case .failedHealthCheck: "failed_health_check_event"
        case .appTerminated: "app_terminated_event"
        }
    }

    /// The event's JSON object, stamped with `timestamp`.
    public func json(at timestamp: MarathonTimestamp) -> MarathonJSON {
        var members: [String: MarathonJSON] = [
            "eventType": .string(eventType),
            "timestamp": .string(timestamp.description),
        ]
        func set(_ key: String, _ value: MarathonJSON) { members[key] = value }
        func encoded<Value: Encodable>(_ value: Value) -> MarathonJSON {
            // Encoding the model types cannot fail: they hold only strings, numbers and nested models.
            (try? MarathonJSON.from(value)) ?? .null
        }
        switch self {
        case .eventStreamAttached(let remoteAddress):
            set("remoteAddress", .string(remoteAddress))
        case let .apiPost(clientIp, uri, appDefinition):
            set("clientIp", .string(clientIp))
            set("uri", .string(uri))
            set("appDefinition", appDefinition.json)
        case .statusUpdate(let update):
            set("slaveId", .string(update.slaveId))
            set("taskId", .string(update.taskId))
            set("taskStatus", .string(update.taskStatus))
            set("message", .string(update.message))
            set("appId", .string(update.appId.description))
            set("host", .string(update.host))
            set("ipAddresses", encoded(update.ipAddresses))
            set("ports", .array(update.ports.map { .number(Double($0)) }))
            set("version", .string(update.version.description))
        case let .deploymentInfo(plan, currentStep),
             let .deploymentStepSuccess(plan, currentStep),
             let .deploymentStepFailure(plan, currentStep):
            set("plan", encoded(plan))
            set("currentStep", encoded(currentStep))
        case .deploymentSuccess(let plan):
            set("id", .string(plan.id))
            set("plan", encoded(plan))
        case let .deploymentFailed(plan, reason):
            set("id", .string(plan.id))
            set("plan", encoded(plan))
            if let reason { set("reason", .string(reason)) }
        case let .healthStatusChanged(appId, taskId, instanceId, version, alive):
            set("appId", .string(appId.description))
            set("taskId", .string(taskId))
            set("instanceId", .string(instanceId))
            set("version", .string(version.description))
            set("alive", .bool(alive))
        case let .unhealthyTaskKill(appId, taskId, instanceId, version, reason, host, slaveId):
            set("appId", .string(appId.description))
            set("taskId", .string(taskId))
            set("instanceId", .string(instanceId))
            set("version", .string(version.description))
            set("reason", .string(reason))
            set("host", .string(host))
            set("slaveId", .string(slaveId))
        case let .failedHealthCheck(appId, taskId, instanceId, healthCheck):
            set("appId", .string(appId.description))
            set("taskId", .string(taskId))
            set("instanceId", .string(instanceId))
            set("healthCheck", healthCheck.json)
        case .appTerminated(let appId):
            set("appId", .string(appId.description))
        }
        return .object(members)
    }

    /// The server-sent-events frame: `event: <type>\ndata: <one-line JSON>\n\n`.
    public func sseFrame(at timestamp: MarathonTimestamp) -> String {
        "event: \(eventType)\ndata: \(json(at: timestamp).serialized)\n\n"
    }
}
