import Foundation

// The parts of Marathon's JSON that `agora app` prints. Every field is optional so
// that a server sending less (or more) than Marathon still works; these are the
// client's own views, independent of the server's model types.

/// Any JSON value, for fields whose shape varies (env values, constraint fields).
enum AppJSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AppJSONValue])
    case object([String: AppJSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([AppJSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: AppJSONValue].self))
        }
    }

    /// The value as a person reads it: strings bare, numbers without a needless `.0`.
    var text: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .number(let value): AppFormat.number(value)
        case .string(let value): value
        case .array(let values): "[" + values.map(\.text).joined(separator: ", ") + "]"
        case .object(let fields): "{" + fields.keys.sorted().map { "\($0): \(fields[$0]!.text)" }.joined(separator: ", ") + "}"
        }
    }
}

/// An app as `GET /v2/apps` and `GET /v2/apps/{id}` describe it (AppInfo).
struct AppView: Decodable, Sendable {
    var id: String
    var cmd: String?
    var args: [String]?
    var instances: Int?
    var cpus: Double?
    var mem: Double?
    var disk: Double?
    var gpus: Double?
    var constraints: [[AppJSONValue]]?
    var portDefinitions: [PortDefinitionView]?
    var requirePorts: Bool?
    var healthChecks: [HealthCheckView]?
    var env: [String: AppJSONValue]?
    var labels: [String: String]?
    var acceptedResourceRoles: [String]?
    var role: String?
    var version: String?
    var tasksStaged: Int?
    var tasksRunning: Int?
    var tasksHealthy: Int?
    var tasksUnhealthy: Int?
    var deployments: [DeploymentReference]?
    var tasks: [TaskView]?
    var lastTaskFailure: TaskFailureView?

    /// What the app runs: `cmd`, or `args` joined by spaces.
    var commandLine: String {
        cmd ?? args?.joined(separator: " ") ?? ""
    }

    /// Constraints as Marathon's CLI writes them: `hostname:UNIQUE`, `rack:LIKE:r[12]`.
    var constraintTexts: [String] {
        (constraints ?? []).map { $0.map(\.text).joined(separator: ":") }
    }
}

struct PortDefinitionView: Decodable, Sendable {
    var port: Int?
    var name: String?
    var `protocol`: String?
}

struct HealthCheckView: Decodable, Sendable {
    var `protocol`: String?
    var path: String?
    var command: AppJSONValue?
    var intervalSeconds: Double?
    var maxConsecutiveFailures: Int?
}

struct DeploymentReference: Decodable, Sendable {
    var id: String
}

/// A task as `/v2/apps/{id}/tasks` describes it.
struct TaskView: Decodable, Sendable {
    var id: String
    var host: String?
    var ports: [Int]?
    var state: String?
    var stagedAt: String?
    var startedAt: String?
    var healthCheckResults: [HealthCheckResultView]?

    /// `healthy`, `unhealthy`, or `-` when the app has no health checks (or no result yet).
    var health: String {
        guard let results = healthCheckResults, !results.isEmpty else { return "-" }
        return results.allSatisfy { $0.alive == true } ? "healthy" : "unhealthy"
    }
}

struct HealthCheckResultView: Decodable, Sendable {
    var alive: Bool?
}

/// `lastTaskFailure` of an AppInfo.
struct TaskFailureView: Decodable, Sendable {
    var host: String?
    var message: String?
    var state: String?
    var taskId: String?
    var timestamp: String?
}

struct AppListView: Decodable, Sendable {
    var apps: [AppView]
}

struct AppDetailView: Decodable, Sendable {
    var app: AppView
}

struct TaskListView: Decodable, Sendable {
    var tasks: [TaskView]
}

/// The answer to an app change (PUT, DELETE, restart, kill with scale).
struct DeploymentResultView: Decodable, Sendable {
    var deploymentId: String?
    var version: String?
}

/// An entry of `GET /v2/deployments`.
struct DeploymentView: Decodable, Sendable {
    var id: String
    var version: String?
    var affectedApps: [String]?
    var currentActions: [DeploymentActionView]?
    var currentStep: Int?
    var totalSteps: Int?
}

struct DeploymentActionView: Decodable, Sendable {
    var action: String?
    var app: String?
}

/// `GET /agora/v1/deployments/{id}`: Agora's progress report of one deployment.
struct DeploymentStatusView: Decodable, Sendable, Equatable {
    var id: String
    var appId: String?
    /// `running`, `succeeded`, `failed` or `canceled`.
    var status: String
    var reason: String?
    var target: Int?
    var staged: Int?
    var running: Int?
    var healthy: Int?

    var isFinished: Bool { status != "running" }
}

/// `GET /v2/queue`.
struct QueueView: Decodable, Sendable {
    var queue: [QueueEntryView]
}

/// One app waiting in the launch queue.
struct QueueEntryView: Decodable, Sendable {
    /// How many instances are still to be launched.
    var count: Int?
    var delay: QueueDelayView?
    var since: String?
    var app: AppView?
    var processedOffersSummary: ProcessedOffersSummaryView?
}

struct QueueDelayView: Decodable, Sendable {
    var timeLeftSeconds: Double?
    var overdue: Bool?
}

struct ProcessedOffersSummaryView: Decodable, Sendable {
    var processedOffersCount: Int?
    var rejectSummaryLastOffers: [OfferRejectionView]?
}

/// How many of the recent offers were declined for one reason (Marathon's `NoOfferMatchReason`).
struct OfferRejectionView: Decodable, Sendable {
    var reason: String
    var declined: Int?
    var processed: Int?
}
