/// A network an app joins (`networks[]`); the default is one `host` network.
public struct AppNetwork: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        case host
        case container
        case containerBridge = "container/bridge"
    }

    public var mode: Mode
    /// The container network's name (`container` mode).
    public var name: String?
    public var labels: [String: String]

    public init(mode: Mode = .host, name: String? = nil, labels: [String: String] = [:]) {
        self.mode = mode
        self.name = name
        self.labels = labels
    }

    /// `[{"mode": "host"}]`.
    public static let defaultNetworks = [AppNetwork()]

    var json: MarathonJSON {
        .compactObject([
            "mode": .string(mode.rawValue), "name": name.map(MarathonJSON.string),
            "labels": labels.isEmpty ? nil : labels.json,
        ])
    }

    static func read(_ value: MarathonJSON, _ path: String, _ reader: inout JSONReader) -> AppNetwork? {
        guard let members = reader.object(value, path) else { return nil }
        return AppNetwork(
            mode: reader.choice(members["mode"], "\(path)/mode") ?? .container,
            name: reader.string(members["name"], "\(path)/name"),
            labels: reader.stringMap(members["labels"], "\(path)/labels") ?? [:])
    }
}
