import Foundation
import Framework

extension AppDefinition {
    /// Top-level keys an app may carry.
    static let definitionKeys: Set<String> = [
        "id", "cmd", "args", "user", "env", "instances", "cpus", "mem", "disk", "gpus", "constraints", "fetch", "uris",
        "portDefinitions", "ports", "requirePorts", "container", "healthChecks", "readinessChecks", "upgradeStrategy",
        "backoffSeconds", "backoffFactor", "maxLaunchDelaySeconds", "killSelection", "unreachableStrategy",
        "taskKillGracePeriodSeconds", "labels", "acceptedResourceRoles", "role", "dependencies", "networks",
        "version", "versionInfo",
    ]

    /// Read-only keys a client echoes back from GET; accepted and ignored.
    public static let readOnlyKeys: Set<String> = [
        "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments", "tasks", "lastTaskFailure",
        "readinessCheckResults", "taskStats", "tasksStats",
    ]

    /// Marathon fields Agora does not implement: accepted when empty (as clients send
    /// them by default), rejected with a clear message otherwise.
    static let unsupportedKeys: Set<String> = [
        "executor", "secrets", "residency", "ipAddress", "storeUrls", "taskRateLimit", "tty",
    ]

    /// Reads, normalizes and validates an app from a request's JSON.
    ///
    /// `defaultID` is used when the JSON has no `id` (PUT `/v2/apps/{id}`).
    /// - Throws: 422 `Invalid JSON` for wrong types and unknown fields, 422 `Object is
    ///   not valid` for broken rules, each with the path of the field.
    public init(json: MarathonJSON, defaultID: PathID? = nil) throws(MarathonAPIError) {
        var reader = JSONReader()
        let app = Self.read(json, defaultID: defaultID, &reader)
        if !reader.typeErrors.isEmpty { throw .invalidJSON(reader.typeErrors) }
        guard let app else { throw .invalidJSON([.init(path: "/", "error.expected.jsobject")]) }
        let violations = reader.ruleErrors + app.violations
        if !violations.isEmpty { throw .notValid(violations) }
        self = app
    }

    /// Parses a request body and reads it as in `init(json:defaultID:)`; 400 for an
    /// empty or malformed body.
    public static func decode(body: Data, defaultID: PathID? = nil) throws(MarathonAPIError) -> AppDefinition {
        try AppDefinition(json: MarathonJSON.parse(body), defaultID: defaultID)
    }

    /// Reads an app without validating it, recording every type error and rule error in
    /// `reader`; `nil` when `json` is not an object.
    static func read(_ json: MarathonJSON, defaultID: PathID?, _ reader: inout JSONReader) -> AppDefinition? {
        guard case .object(let members) = json else {
            reader.typeError("/", "error.expected.jsobject")
            return nil
        }
        reader.rejectUnknown(members, known: definitionKeys.union(readOnlyKeys).union(unsupportedKeys), "")
        for key in unsupportedKeys.sorted() {
            guard let value = members[key], !value.isEmptyValue else { continue }
            if key == "executor", value == .string("//cmd") { continue }
            reader.ruleError("/\(key)", "is not supported by Agora")
        }

        let idText = reader.string(members["id"], "/id")
        guard let id = idText.map({ PathID($0) }) ?? defaultID else {
            if members["id"] == nil || members["id"] == .null { reader.typeError("/id", "error.path.missing") }
            return nil
        }
        var app = AppDefinition(id: id)
        app.cmd = reader.string(members["cmd"], "/cmd")
        app.args = reader.strings(members["args"], "/args").flatMap { $0.isEmpty ? nil : $0 }
        app.user = reader.string(members["user"], "/user")
        app.env = reader.stringMap(members["env"], "/env") ?? [:]
        app.instances = reader.int(members["instances"], "/instances") ?? 1
        app.cpus = reader.double(members["cpus"], "/cpus") ?? 1
        app.mem = reader.double(members["mem"], "/mem") ?? 128
        app.disk = reader.double(members["disk"], "/disk") ?? 0
        app.gpus = reader.int(members["gpus"], "/gpus") ?? 0
        app.constraints = reader.list(members["constraints"], "/constraints", readConstraint) ?? []
        app.requirePorts = reader.bool(members["requirePorts"], "/requirePorts") ?? false
        app.healthChecks = reader.list(members["healthChecks"], "/healthChecks", HealthCheck.read) ?? []
        app.readinessChecks = reader.list(members["readinessChecks"], "/readinessChecks", ReadinessCheck.read) ?? []
        app.upgradeStrategy = UpgradeStrategy.read(members["upgradeStrategy"], "/upgradeStrategy", &reader)
            ?? UpgradeStrategy()
        app.backoffSeconds = reader.int(members["backoffSeconds"], "/backoffSeconds") ?? 1
        app.backoffFactor = reader.double(members["backoffFactor"], "/backoffFactor") ?? 1.15
        app.maxLaunchDelaySeconds = reader.int(members["maxLaunchDelaySeconds"], "/maxLaunchDelaySeconds") ?? 300
        app.killSelection = reader.choice(members["killSelection"], "/killSelection") ?? KillSelection.youngestFirst
        app.unreachableStrategy = UnreachableStrategy.read(members["unreachableStrategy"], "/unreachableStrategy",
                                                           &reader) ?? .default
        app.taskKillGracePeriodSeconds =
            reader.int(members["taskKillGracePeriodSeconds"], "/taskKillGracePeriodSeconds")
        app.labels = reader.stringMap(members["labels"], "/labels") ?? [:]
        app.acceptedResourceRoles = reader.strings(members["acceptedResourceRoles"], "/acceptedResourceRoles")
        app.role = reader.string(members["role"], "/role")
        app.dependencies = reader.strings(members["dependencies"], "/dependencies")?.map { PathID($0) } ?? []
        app.version = reader.timestamp(members["version"], "/version")
        if let info = reader.object(members["versionInfo"], "/versionInfo"),
           let scaling = reader.timestamp(info["lastScalingAt"], "/versionInfo/lastScalingAt"),
           let change = reader.timestamp(info["lastConfigChangeAt"], "/versionInfo/lastConfigChangeAt") {
            app.versionInfo = VersionInfo(lastScalingAt: scaling, lastConfigChangeAt: change)
        }

        // fetch, with the legacy `uris`.
        let fetch = reader.list(members["fetch"], "/fetch", FetchURI.read) ?? []
        let uris = reader.strings(members["uris"], "/uris") ?? []
        if !uris.isEmpty, !fetch.isEmpty {
            reader.ruleError("/fetch", "cannot specify both uris and fetch fields")
        }
        app.fetch = uris.isEmpty ? fetch : uris.map(FetchURI.init(legacyURI:))

        // Networks and container, with the legacy `container.docker.network`.
        let containerRead = members["container"].flatMap { AppContainer.read($0, "/container", &reader) }
        app.container = containerRead?.container
        if let networks = reader.list(members["networks"], "/networks", AppNetwork.read), !networks.isEmpty {
            app.networks = networks
        } else if let legacy = containerRead?.legacyNetwork {
            switch legacy {
            case "HOST": app.networks = [AppNetwork(mode: .host)]
            case "BRIDGE": app.networks = [AppNetwork(mode: .containerBridge)]
            case "USER": app.networks = [AppNetwork(mode: .container)]
            case "NONE": app.networks = []
            default: reader.ruleError("/container/docker/network", "is not one of (BRIDGE,HOST,USER,NONE)")
            }
        }
        if !app.usesHostNetworking { app.requirePorts = false }

        // Ports, with the legacy `ports`.
        let portDefinitions = reader.list(members["portDefinitions"], "/portDefinitions", PortDefinition.read)
        let ports = reader.list(members["ports"], "/ports") { item, path, reader in reader.int(item, path) }
        if let ports, !ports.isEmpty, let portDefinitions, !portDefinitions.isEmpty {
            reader.ruleError("/portDefinitions", "cannot specify both ports and portDefinitions")
        }
        if let ports, !ports.isEmpty {
            app.portDefinitions = ports.map { PortDefinition(port: $0) }
        } else if let portDefinitions {
            app.portDefinitions = portDefinitions
        } else if ports != nil {
            app.portDefinitions = []
        } else {
            app.portDefinitions = app.usesHostNetworking ? defaultPortDefinitions : []
        }

        // Health checks probe the first port unless told otherwise (Marathon's normalization).
        let hasPorts = !app.portDefinitions.isEmpty || !(app.container?.portMappings.isEmpty ?? true)
        if hasPorts {
            for index in app.healthChecks.indices where app.healthChecks[index].protocol.needsPort
                && app.healthChecks[index].port == nil && app.healthChecks[index].portIndex == nil {
                app.healthChecks[index].portIndex = 0
            }
        }
        return app
    }

    private static func readConstraint(_ value: MarathonJSON, _ path: String, _ reader: inout JSONReader) -> Constraint? {
        guard let items = reader.array(value, path) else { return nil }
        var parts: [String] = []
        for (index, item) in items.enumerated() {
            switch item {
            case .string(let text): parts.append(text)
            case .number(let number) where index == 2: parts.append(MarathonJSON.format(number))
            default:
                reader.typeError("\(path)(\(index))", "error.expected.jsstring")
                return nil
            }
        }
        do {
            return try Constraint(parsing: parts)
        } catch {
            reader.ruleError(path, error.reason)
            return nil
        }
    }
}
