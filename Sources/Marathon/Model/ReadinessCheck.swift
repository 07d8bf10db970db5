/// A readiness check (`readinessChecks[]`, at most one): during a deployment a new
/// instance counts only once its port answers with one of `httpStatusCodesForReady`.
public struct ReadinessCheck: Sendable, Hashable {
    public enum CheckProtocol: String, Sendable, Hashable, CaseIterable {
        case http = "HTTP"
        case https = "HTTPS"
    }

    public var name: String
    public var `protocol`: CheckProtocol
    public var path: String
    /// The name of the port definition to probe.
    public var portName: String
    public var intervalSeconds: Int
    public var timeoutSeconds: Int
    public var httpStatusCodesForReady: [Int]
    public var preserveLastResponse: Bool

    public init(name: String = "readinessCheck", protocol: CheckProtocol = .http, path: String = "/",
                portName: String = "http-api", intervalSeconds: Int = 30, timeoutSeconds: Int = 10,
                httpStatusCodesForReady: [Int] = [200], preserveLastResponse: Bool = false) {
        self.name = name
        self.protocol = `protocol`
        self.path = path
        self.portName = portName
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.httpStatusCodesForReady = httpStatusCodesForReady
        self.preserveLastResponse = preserveLastResponse
    }

    var json: MarathonJSON {
        .object([
            "name": .string(name), "protocol": .string(`protocol`.rawValue), "path": .string(path),
            "portName": .string(portName), "intervalSeconds": .number(Double(intervalSeconds)),
            "timeoutSeconds": .number(Double(timeoutSeconds)),
            "httpStatusCodesForReady": .array(httpStatusCodesForReady.map { .number(Double($0)) }),
            "preserveLastResponse": .bool(preserveLastResponse),
        ])
    }

    static func read(_ value: MarathonJSON, _ path: String, _ reader: inout JSONReader) -> ReadinessCheck? {
        guard let members = reader.object(value, path) else { return nil }
        let codes = reader.list(members["httpStatusCodesForReady"], "\(path)/httpStatusCodesForReady") {
            item, itemPath, reader in reader.int(item, itemPath)
        }
        return ReadinessCheck(
            name: reader.string(members["name"], "\(path)/name") ?? "readinessCheck",
            protocol: reader.choice(members["protocol"], "\(path)/protocol") ?? .http,
            path: reader.string(members["path"], "\(path)/path") ?? "/",
            portName: reader.string(members["portName"], "\(path)/portName") ?? "http-api",
            intervalSeconds: reader.int(members["intervalSeconds"], "\(path)/intervalSeconds") ?? 30,
            timeoutSeconds: reader.int(members["timeoutSeconds"], "\(path)/timeoutSeconds") ?? 10,
            httpStatusCodesForReady: codes.flatMap { $0.isEmpty ? nil : $0 } ?? [200],
            preserveLastResponse: reader.bool(members["preserveLastResponse"], "\(path)/preserveLastResponse") ?? false)
    }
}
