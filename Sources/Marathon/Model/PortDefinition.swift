/// A host port an app's instances need (`portDefinitions[]`); `port` 0 asks for any free port.
///
/// Instances see the assigned ports as `$PORT0`, `$PORT1`, … and, when named, `$PORT_<NAME>`.
public struct PortDefinition: Sendable, Hashable {
    /// The declared port; with `requirePorts` the host port must equal it; 0 = any.
    public var port: Int
    /// `tcp`, `udp` or `udp,tcp`.
    public var `protocol`: String
    public var name: String?
    public var labels: [String: String]

    /// Protocols Marathon accepts.
    public static let protocols = ["tcp", "udp", "udp,tcp"]

    public init(port: Int, protocol: String = "tcp", name: String? = nil, labels: [String: String] = [:]) {
        self.port = port
        self.protocol = `protocol`
        self.name = name
        self.labels = labels
    }

    var json: MarathonJSON {
        .compactObject([
            "port": .number(Double(port)), "protocol": .string(`protocol`),
            "name": name.map(MarathonJSON.string), "labels": labels.json,
        ])
    }

    static func read(_ value: MarathonJSON, _ path: String, _ reader: inout JSONReader) -> PortDefinition? {
        guard let members = reader.object(value, path) else { return nil }
        return PortDefinition(
            port: reader.int(members["port"], "\(path)/port") ?? 0,
            protocol: reader.string(members["protocol"], "\(path)/protocol") ?? "tcp",
            name: reader.string(members["name"], "\(path)/name"),
            labels: reader.stringMap(members["labels"], "\(path)/labels") ?? [:])
    }
}
