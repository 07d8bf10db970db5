/// A health check of an app's instances (`healthChecks[]`), run on the agent.
///
/// An instance is healthy once a check passes (HTTP: status 200–399 within
/// `timeoutSeconds`); after `maxConsecutiveFailures` failures past the grace period it is
/// killed and replaced (0 = never kill, except for `MESOS_*` checks, which kill at once).
public struct HealthCheck: Sendable, Hashable {
    /// How the check probes the instance.
    public enum CheckProtocol: String, Sendable, Hashable, CaseIterable {
        case http = "HTTP"
        case https = "HTTPS"
        case tcp = "TCP"
        case command = "COMMAND"
        case mesosHTTP = "MESOS_HTTP"
        case mesosHTTPS = "MESOS_HTTPS"
        case mesosTCP = "MESOS_TCP"

        /// Whether this is one of the `MESOS_*` kinds (at most one per app).
        public var isMesosCheck: Bool { rawValue.hasPrefix("MESOS_") }

        /// Whether the check needs a port (everything but COMMAND).
        public var needsPort: Bool { self != .command }
    }

    public var `protocol`: CheckProtocol
    /// The HTTP path, e.g. `/health`.
    public var path: String?
    /// Index into the app's port definitions (or port mappings) of the port to probe.
    public var portIndex: Int?
    /// A fixed port to probe instead of `portIndex`.
    public var port: Int?
    /// The shell command of a COMMAND check; exit status 0 = healthy.
    public var command: String?
    public var gracePeriodSeconds: Int
    public var intervalSeconds: Int
    public var timeoutSeconds: Int
    public var maxConsecutiveFailures: Int
    /// Treat HTTP 1xx answers as neither success nor failure.
    public var ignoreHttp1xx: Bool
    /// Seconds to wait before the first check (MESOS_* checks).
    public var delaySeconds: Int

    public init(protocol: CheckProtocol = .http, path: String? = nil, portIndex: Int? = nil, port: Int? = nil,
                command: String? = nil, gracePeriodSeconds: Int = 300, intervalSeconds: Int = 60,
                timeoutSeconds: Int = 20, maxConsecutiveFailures: Int = 3, ignoreHttp1xx: Bool = false,
                delaySeconds: Int = 15) {
        self.protocol = `protocol`
        self.path = path
        self.portIndex = portIndex
        self.port = port
        self.command = command
        self.gracePeriodSeconds = gracePeriodSeconds
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.ignoreHttp1xx = ignoreHttp1xx
        self.delaySeconds = delaySeconds
    }

    var json: MarathonJSON {
        .compactObject([
            "protocol": .string(`protocol`.rawValue),
            "path": path.map(MarathonJSON.string),
            "portIndex": portIndex.map { .number(Double($0)) },
            "port": port.map { .number(Double($0)) },
            "command": command.map { .object(["value": .string($0)]) },
            "gracePeriodSeconds": .number(Double(gracePeriodSeconds)),
            "intervalSeconds": .number(Double(intervalSeconds)),
            "timeoutSeconds": .number(Double(timeoutSeconds)),
            "maxConsecutiveFailures": .number(Double(maxConsecutiveFailures)),
            "ignoreHttp1xx": .bool(ignoreHttp1xx),
            "delaySeconds": .number(Double(delaySeconds)),
        ])
    }

    static func read(_ value: MarathonJSON, _ path: String, _ reader: inout JSONReader) -> HealthCheck? {
        guard let members = reader.object(value, path) else { return nil }
        var command: String?
        switch members["command"] {
        case .string(let text)?: command = text
        case let object?:
            if let commandObject = reader.object(object, "\(path)/command") {
                command = reader.string(commandObject["value"], "\(path)/command/value")
            }
        case nil: break
        }
        var check = HealthCheck(
            protocol: reader.choice(members["protocol"], "\(path)/protocol") ?? .http,
            path: reader.string(members["path"], "\(path)/path"),
            portIndex: reader.int(members["portIndex"], "\(path)/portIndex"),
            port: reader.int(members["port"], "\(path)/port"),
            command: command)
        check.gracePeriodSeconds = reader.int(members["gracePeriodSeconds"], "\(path)/gracePeriodSeconds") ?? 300
        check.intervalSeconds = reader.int(members["intervalSeconds"], "\(path)/intervalSeconds") ?? 60
        check.timeoutSeconds = reader.int(members["timeoutSeconds"], "\(path)/timeoutSeconds") ?? 20
        check.maxConsecutiveFailures =
            reader.int(members["maxConsecutiveFailures"], "\(path)/maxConsecutiveFailures") ?? 3
        check.ignoreHttp1xx = reader.bool(members["ignoreHttp1xx"], "\(path)/ignoreHttp1xx") ?? false
        check.delaySeconds = reader.int(members["delaySeconds"], "\(path)/delaySeconds") ?? 15
        return check
    }
}
