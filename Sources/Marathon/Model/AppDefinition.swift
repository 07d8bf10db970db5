import Foundation
import Framework

/// A long-running app as Marathon v2's REST API describes it: what to run, how many
/// instances, their resources, placement, ports, checks and deployment settings.
///
/// Defaults are Marathon 1.10's. Read request bodies with `init(json:defaultID:)` or
/// `decode(body:defaultID:)`, which answer Marathon's 400/422 errors; write responses
/// with `json` (or `Encodable`), which leaves out fields without a value.
///
/// `Codable` is for trusted data (Agora's own store, the CLI reading Agora's answers):
/// decoding reads and normalizes like the REST API but does not validate.
public struct AppDefinition: Sendable, Hashable {
    public var id: PathID
    /// A shell command (`sh -c`).
    public var cmd: String?
    /// A command given as arguments, run without a shell; exclusive with `cmd`.
    public var args: [String]?
    public var user: String?
    public var env: [String: String]
    public var instances: Int
    public var cpus: Double
    /// Memory in MB.
    public var mem: Double
    /// Disk in MB.
    public var disk: Double
    public var gpus: Int
    public var constraints: [Constraint]
    public var fetch: [FetchURI]
    public var portDefinitions: [PortDefinition]
    /// Host ports must equal the declared (non-zero) ports.
    public var requirePorts: Bool
    public var container: AppContainer?
    public var healthChecks: [HealthCheck]
    public var readinessChecks: [ReadinessCheck]
    public var upgradeStrategy: UpgradeStrategy
    /// First relaunch delay after a failure, in seconds.
    public var backoffSeconds: Int
    /// Multiplier of the delay per further failure (≥ 1).
    public var backoffFactor: Double
    /// Upper bound of the relaunch delay, in seconds.
    public var maxLaunchDelaySeconds: Int
    public var killSelection: KillSelection
    public var unreachableStrategy: UnreachableStrategy
    /// Seconds between SIGTERM and SIGKILL when an instance is killed.
    public var taskKillGracePeriodSeconds: Int?
    public var labels: [String: String]
    /// Offers must carry resources of one of these roles (`*` = unreserved).
    public var acceptedResourceRoles: [String]?
    /// The role the app's resources are allocated to.
    public var role: String?
    /// Apps to deploy before this one.
    public var dependencies: [PathID]
    public var networks: [AppNetwork]
    /// The version: when this definition was stored. Set by the server.
    public var version: MarathonTimestamp?
    public var versionInfo: VersionInfo?

    /// An app with Marathon's defaults; `portDefinitions` defaults to one port of any
    /// number named `default`, as Marathon gives host-network apps.
    public init(id: PathID, cmd: String? = nil, args: [String]? = nil) {
        self.id = id
        self.cmd = cmd
        self.args = args
        self.user = nil
        self.env = [:]
        self.instances = 1
        self.cpus = 1
        self.mem = 128
        self.disk = 0
        self.gpus = 0
        self.constraints = []
        self.fetch = []
        self.portDefinitions = Self.defaultPortDefinitions
        self.requirePorts = false
        self.container = nil
        self.healthChecks = []
        self.readinessChecks = []
        self.upgradeStrategy = UpgradeStrategy()
        self.backoffSeconds = 1
        self.backoffFactor = 1.15
        self.maxLaunchDelaySeconds = 300
        self.killSelection = .youngestFirst
        self.unreachableStrategy = .default
        self.taskKillGracePeriodSeconds = nil
        self.labels = [:]
        self.acceptedResourceRoles = nil
        self.role = nil
        self.dependencies = []
        self.networks = AppNetwork.defaultNetworks
        self.version = nil
        self.versionInfo = nil
    }

    /// `[{"port": 0, "protocol": "tcp", "name": "default"}]`.
    public static let defaultPortDefinitions = [PortDefinition(port: 0, name: "default")]

    /// Whether the instances use host networking (the only kind Agora runs today).
    public var usesHostNetworking: Bool {
        networks.isEmpty || networks.contains { $0.mode == .host }
    }

    /// How many ports each instance needs from an offer: its port definitions on host
    /// networks, the port mappings with a host port otherwise.
    public var hostPortCount: Int {
        usesHostNetworking ? portDefinitions.count : (container?.portMappings.filter { $0.hostPort != nil }.count ?? 0)
    }

    /// Whether `self` and `other` differ at most in `instances` (and version bookkeeping):
    /// such a change is a scale, not a restart.
    public func differsOnlyInScale(from other: AppDefinition) -> Bool {
        var left = self, right = other
        left.instances = 0
        right.instances = 0
        left.version = nil
        right.version = nil
        left.versionInfo = nil
        right.versionInfo = nil
        return left == right
    }

    /// The app as Marathon writes it; keys without a value are left out.
    public var json: MarathonJSON {
        var members: [String: MarathonJSON] = [
            "id": .string(id.description),
            "env": env.json,
            "instances": .number(Double(instances)),
            "cpus": .number(cpus),
            "mem": .number(mem),
            "disk": .number(disk),
            "gpus": .number(Double(gpus)),
            "constraints": .array(constraints.map { .array($0.parts.map(MarathonJSON.string)) }),
            "fetch": .array(fetch.map(\.json)),
            "portDefinitions": .array(portDefinitions.map(\.json)),
            "requirePorts": .bool(requirePorts),
            "healthChecks": .array(healthChecks.map(\.json)),
            "readinessChecks": .array(readinessChecks.map(\.json)),
            "upgradeStrategy": upgradeStrategy.json,
            "backoffSeconds": .number(Double(backoffSeconds)),
            "backoffFactor": .number(backoffFactor),
            "maxLaunchDelaySeconds": .number(Double(maxLaunchDelaySeconds)),
            "killSelection": .string(killSelection.rawValue),
            "unreachableStrategy": unreachableStrategy.json,
            "labels": labels.json,
            "dependencies": .array(dependencies.map { .string($0.description) }),
            "networks": .array(networks.map(\.json)),
        ]
        members["cmd"] = cmd.map(MarathonJSON.string)
        members["args"] = args.map { .array($0.map(MarathonJSON.string)) }
        members["user"] = user.map(MarathonJSON.string)
        members["container"] = container?.json
        members["taskKillGracePeriodSeconds"] = taskKillGracePeriodSeconds.map { .number(Double($0)) }
        members["acceptedResourceRoles"] = acceptedResourceRoles.map { .array($0.map(MarathonJSON.string)) }
        members["role"] = role.map(MarathonJSON.string)
        members["version"] = version.map { .string($0.description) }
        members["versionInfo"] = versionInfo?.json
        return .object(members)
    }
}

extension AppDefinition: Codable {
    public init(from decoder: any Decoder) throws {
        let json = try MarathonJSON(from: decoder)
        var reader = JSONReader()
        let app = Self.read(json, defaultID: nil, &reader)
        if let error = reader.typeErrors.isEmpty ? nil : MarathonAPIError.invalidJSON(reader.typeErrors) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
        guard let app else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an app"))
        }
        self = app
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encodeMembers(to: encoder)
    }
}
