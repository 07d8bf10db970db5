import Framework

/// What a pod needs from a node, read from its spec: resources per container (after
/// the defaults Kubernetes-on-Mesos applied), host ports, and where it may run.
public struct PodRequirements: Hashable, Sendable {
    /// One container's share.
    public struct Container: Hashable, Sendable {
        public var name: String
        /// Cores the container's task gets: its CPU limit (the request when no limit is set).
        public var cpus: Double
        /// Megabytes (2^20 bytes) the container's task gets: its memory limit, or the request.
        public var memoryMB: Double
        /// Host ports the container binds (`ports[].hostPort`), in the order declared.
        public var hostPorts: [UInt64]
    }

    /// CPU for a container that sets neither request nor limit, as k8sm defaulted.
    public static let defaultCPUs = 0.25
    /// Memory in MB for a container that sets neither request nor limit.
    public static let defaultMemoryMB = 64.0
    /// What the executor that runs a pod's task group needs besides its tasks.
    public static let executorCPUs = 0.1
    public static let executorMemoryMB = 32.0

    public var containers: [Container]
    /// `spec.nodeName`: the pod may only run on that node.
    public var nodeName: String?
    /// `spec.nodeSelector`: labels the node must carry.
    public var nodeSelector: [String: String]
    /// Required node affinity terms; empty means no affinity requirement.
    public var affinityTerms: [NodeSelectorTerm]

    /// Cores for the whole pod, executor included.
    public var totalCPUs: Double { containers.reduce(Self.executorCPUs) { $0 + $1.cpus } }
    /// Megabytes for the whole pod, executor included.
    public var totalMemoryMB: Double { containers.reduce(Self.executorMemoryMB) { $0 + $1.memoryMB } }
    /// Every host port of the pod.
    public var hostPorts: [UInt64] { containers.flatMap(\.hostPorts) }

    /// The request an offer must satisfy to take the pod.
    public var resourceRequest: ResourceRequest {
        ResourceRequest(cpus: totalCPUs, mem: totalMemoryMB, requiredPorts: hostPorts)
    }

    public init(containers: [Container], nodeName: String? = nil, nodeSelector: [String: String] = [:],
                affinityTerms: [NodeSelectorTerm] = []) {
        self.containers = containers
        self.nodeName = nodeName
        self.nodeSelector = nodeSelector
        self.affinityTerms = affinityTerms
    }

    /// Reads a Pod object.
    ///
    /// - Throws: `PodSpecError` naming the field when the spec has no containers, a
    ///   container has no name, a quantity or host port is invalid, or an affinity
    ///   term is malformed.
    public init(pod: JSONValue) throws(PodSpecError) {
        let spec = pod["spec"] ?? .object([:])
        guard let containers = spec["containers"]?.arrayValue, !containers.isEmpty else {
            throw PodSpecError("spec.containers must list at least one container")
        }
        var read: [Container] = []
        var seenPorts = Set<UInt64>()
        for (index, container) in containers.enumerated() {
            let path = "spec.containers[\(index)]"
            guard let name = container["name"]?.stringValue, !name.isEmpty else {
                throw PodSpecError("\(path).name is missing")
            }
            let resources = container["resources"] ?? .object([:])
            let cpus = try Self.amount(resources, "cpu", path: path)?.cores ?? Self.defaultCPUs
            let memory = try Self.amount(resources, "memory", path: path)?.megabytes
            var ports: [UInt64] = []
            for (portIndex, port) in (container["ports"]?.arrayValue ?? []).enumerated() {
                guard let hostPort = port["hostPort"] else { continue }
                guard let number = hostPort.intValue, (1...65_535).contains(number) else {
                    throw PodSpecError("\(path).ports[\(portIndex)].hostPort must be a port number between 1 and 65535")
                }
                guard seenPorts.insert(UInt64(number)).inserted else {
                    throw PodSpecError("\(path).ports[\(portIndex)].hostPort \(number) is used twice in the pod")
                }
                ports.append(UInt64(number))
            }
            read.append(Container(name: name, cpus: cpus, memoryMB: memory ?? Self.defaultMemoryMB,
                                  hostPorts: ports))
        }
        var selector: [String: String] = [:]
        for (key, value) in spec["nodeSelector"]?.objectValue ?? [:] {
            guard let text = value.stringValue else { throw PodSpecError("spec.nodeSelector.\(key) must be a string") }
            selector[key] = text
        }
        var terms: [NodeSelectorTerm] = []
        let required = spec[path: ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"]]
        for (index, term) in (required?["nodeSelectorTerms"]?.arrayValue ?? []).enumerated() {
            terms.append(try NodeSelectorTerm(
                json: term,
                path: "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[\(index)]"))
        }
        let nodeName = spec["nodeName"]?.stringValue
        self.init(containers: read, nodeName: nodeName?.isEmpty == false ? nodeName : nil, nodeSelector: selector,
                  affinityTerms: terms)
    }

    /// Whether a node with `name` and `labels` may take the pod (resources aside).
    public func admits(nodeName name: String, labels: [String: String]) -> Bool {
        matchesNodeName(name) && matchesSelectorAndAffinity(labels)
    }

    func matchesNodeName(_ name: String) -> Bool {
        nodeName.map { $0 == name } ?? true
    }

    func matchesSelectorAndAffinity(_ labels: [String: String]) -> Bool {
        nodeSelector.allSatisfy { labels[$0.key] == $0.value }
            && (affinityTerms.isEmpty || affinityTerms.contains { $0.matches(labels) })
    }

    /// The amount of `resource` a container gets: the limit, else the request; nil
    /// when neither is set. Invalid or negative quantities are errors.
    private static func amount(_ resources: JSONValue, _ resource: String, path: String) throws(PodSpecError) -> Quantity? {
        var found: [String: Quantity] = [:]
        for kind in ["limits", "requests"] {
            guard let value = resources[kind]?[resource] else { continue }
            do {
                found[kind] = try Quantity(value)
            } catch {
                throw PodSpecError("\(path).resources.\(kind).\(resource): \(error.message)")
            }
        }
        if let limit = found["limits"], let request = found["requests"], request.value > limit.value {
            throw PodSpecError("\(path).resources.requests.\(resource) must not exceed resources.limits.\(resource)")
        }
        return found["limits"] ?? found["requests"]
    }
}
