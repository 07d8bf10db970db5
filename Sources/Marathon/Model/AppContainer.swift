/// An app's `container`: an image to run and how to wire it.
///
/// Agora does not run container images yet: an app with an image must also have a
/// `cmd` or `args`, which then runs on the host. The data is kept so that it is
/// returned as given and is ready when images are supported.
public struct AppContainer: Sendable, Hashable {
    /// `MESOS` (the universal containerizer) or `DOCKER`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case mesos = "MESOS"
        case docker = "DOCKER"
    }

    /// `container.docker`: the image and Docker options.
    public struct Docker: Sendable, Hashable {
        public var image: String
        public var forcePullImage: Bool
        public var privileged: Bool
        /// Extra `docker run` options as `{key, value}` pairs, in order.
        public var parameters: [Parameter]

        public init(image: String, forcePullImage: Bool = false, privileged: Bool = false,
                    parameters: [Parameter] = []) {
            self.image = image
            self.forcePullImage = forcePullImage
            self.privileged = privileged
            self.parameters = parameters
        }
    }

    /// One `docker run` option, e.g. `{key: "label", value: "a=b"}`.
    public struct Parameter: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A volume: a host path or a persistent/external volume mounted at `containerPath`.
    public struct Volume: Sendable, Hashable {
        public var containerPath: String
        public var hostPath: String?
        /// `RW` or `RO`.
        public var mode: String
        /// Persistent volume options as given (`{"size": 1000}`), kept but not acted on.
        public var persistent: MarathonJSON?
        /// External volume options as given, kept but not acted on.
        public var external: MarathonJSON?

        public init(containerPath: String, hostPath: String? = nil, mode: String = "RW",
                    persistent: MarathonJSON? = nil, external: MarathonJSON? = nil) {
            self.containerPath = containerPath
            self.hostPath = hostPath
            self.mode = mode
            self.persistent = persistent
            self.external = external
        }
    }

    /// A container port and the host/service ports it maps to (bridge and container networks).
    public struct PortMapping: Sendable, Hashable {
        public var containerPort: Int
        /// 0 = any free host port; `nil` = no host port.
        public var hostPort: Int?
        public var servicePort: Int?
        public var `protocol`: String
        public var name: String?
        public var labels: [String: String]

        public init(containerPort: Int, hostPort: Int? = nil, servicePort: Int? = nil, protocol: String = "tcp",
                    name: String? = nil, labels: [String: String] = [:]) {
            self.containerPort = containerPort
            self.hostPort = hostPort
            self.servicePort = servicePort
            self.protocol = `protocol`
            self.name = name
            self.labels = labels
        }
    }

    public var type: Kind
    public var docker: Docker?
    public var volumes: [Volume]
    public var portMappings: [PortMapping]

    public init(type: Kind = .mesos, docker: Docker? = nil, volumes: [Volume] = [], portMappings: [PortMapping] = []) {
        self.type = type
        self.docker = docker
        self.volumes = volumes
        self.portMappings = portMappings
    }

    /// The image the app asks for, if any.
    public var image: String? {
        guard let image = docker?.image, !image.isEmpty else { return nil }
        return image
    }

    var json: MarathonJSON {
        var members: [String: MarathonJSON] = [
            "type": .string(type.rawValue),
            "volumes": .array(volumes.map { volume in
                .compactObject([
                    "containerPath": .string(volume.containerPath),
                    "hostPath": volume.hostPath.map(MarathonJSON.string),
                    "mode": .string(volume.mode),
                    "persistent": volume.persistent, "external": volume.external,
                ])
            }),
        ]
        if !portMappings.isEmpty {
            members["portMappings"] = .array(portMappings.map { mapping in
                .compactObject([
                    "containerPort": .number(Double(mapping.containerPort)),
                    "hostPort": mapping.hostPort.map { .number(Double($0)) },
                    "servicePort": mapping.servicePort.map { .number(Double($0)) },
                    "protocol": .string(mapping.protocol),
                    "name": mapping.name.map(MarathonJSON.string),
                    "labels": mapping.labels.json,
                ])
            })
        }
        if let docker {
            members["docker"] = .object([
                "image": .string(docker.image),
                "forcePullImage": .bool(docker.forcePullImage),
                "privileged": .bool(docker.privileged),
                "parameters": .array(docker.parameters.map {
                    .object(["key": .string($0.key), "value": .string($0.value)])
                }),
            ])
        }
        return .object(members)
    }

    /// Reads a container, moving the legacy `docker.portMappings` to `portMappings` and
    /// returning the legacy `docker.network` (`BRIDGE`, `HOST`, `USER`) for the caller to translate.
    static func read(_ value: MarathonJSON, _ path: String,
                     _ reader: inout JSONReader) -> (container: AppContainer, legacyNetwork: String?)? {
        guard let members = reader.object(value, path) else { return nil }
        var container = AppContainer(type: reader.choice(members["type"], "\(path)/type") ?? .mesos)
        container.volumes = reader.list(members["volumes"], "\(path)/volumes") { item, itemPath, reader in
            guard let volume = reader.object(item, itemPath) else { return nil }
            let mode = reader.string(volume["mode"], "\(itemPath)/mode") ?? "RW"
            if !["RW", "RO"].contains(mode) { reader.ruleError("\(itemPath)/mode", "is not one of (RO,RW)") }
            return Volume(
                containerPath: reader.string(volume["containerPath"], "\(itemPath)/containerPath") ?? "",
                hostPath: reader.string(volume["hostPath"], "\(itemPath)/hostPath"),
                mode: mode,
                persistent: reader.object(volume["persistent"], "\(itemPath)/persistent").map(MarathonJSON.object),
                external: reader.object(volume["external"], "\(itemPath)/external").map(MarathonJSON.object))
        } ?? []
        let mappings = readPortMappings(members["portMappings"], "\(path)/portMappings", &reader)
        var legacyNetwork: String?
        if let docker = reader.object(members["docker"], "\(path)/docker") {
            let dockerPath = "\(path)/docker"
            container.docker = Docker(
                image: reader.string(docker["image"], "\(dockerPath)/image") ?? "",
                forcePullImage: reader.bool(docker["forcePullImage"], "\(dockerPath)/forcePullImage") ?? false,
                privileged: reader.bool(docker["privileged"], "\(dockerPath)/privileged") ?? false,
                parameters: reader.list(docker["parameters"], "\(dockerPath)/parameters") { item, itemPath, reader in
                    guard let parameter = reader.object(item, itemPath) else { return nil }
                    guard let key = reader.string(parameter["key"], "\(itemPath)/key"),
                          let value = reader.string(parameter["value"], "\(itemPath)/value") else { return nil }
                    return Parameter(key: key, value: value)
                } ?? [])
            legacyNetwork = reader.string(docker["network"], "\(dockerPath)/network")
            let legacyMappings = readPortMappings(docker["portMappings"], "\(dockerPath)/portMappings", &reader)
            if let legacyMappings, !legacyMappings.isEmpty {
                if let mappings, !mappings.isEmpty {
                    reader.ruleError("\(path)/portMappings", "cannot specify both portMappings and docker.portMappings")
                }
                container.portMappings = legacyMappings
            }
        }
        if let mappings, !mappings.isEmpty { container.portMappings = mappings }
        return (container, legacyNetwork)
    }

    private static func readPortMappings(_ value: MarathonJSON?, _ path: String,
                                         _ reader: inout JSONReader) -> [PortMapping]? {
        reader.list(value, path) { item, itemPath, reader in
            guard let mapping = reader.object(item, itemPath) else { return nil }
            return PortMapping(
                containerPort: reader.int(mapping["containerPort"], "\(itemPath)/containerPort") ?? 0,
                hostPort: reader.int(mapping["hostPort"], "\(itemPath)/hostPort"),
                servicePort: reader.int(mapping["servicePort"], "\(itemPath)/servicePort"),
                protocol: reader.string(mapping["protocol"], "\(itemPath)/protocol") ?? "tcp",
                name: reader.string(mapping["name"], "\(itemPath)/name"),
                labels: reader.stringMap(mapping["labels"], "\(itemPath)/labels") ?? [:])
        }
    }
}
