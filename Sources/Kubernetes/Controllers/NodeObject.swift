import Foundation
import Resources

/// The Node object that stands for one agent. Pure: built from what offers told
/// about the agent, with the time as an input.
public struct NodeObject: Sendable {
    public var agentID: String
    public var hostname: String
    /// The agent's address, `hostIP` for pods too (they run on the host's network).
    public var hostIP: String
    /// The agent's HTTP endpoint, `HOST:PORT`.
    public var agentHTTP: String
    public var labels: [String: String]
    /// The agent's resources as far as Agora can tell: the largest seen of what an
    /// offer held plus what this framework's tasks on the agent use.
    public var capacity: Resources
    /// True while the agent offers resources; nil (Unknown) once the master lost it.
    public var ready: Bool?
    public var version: String

    public init(agentID: String, hostname: String, hostIP: String, agentHTTP: String, labels: [String: String],
                capacity: Resources, ready: Bool?, version: String) {
        self.agentID = agentID
        self.hostname = hostname
        self.hostIP = hostIP
        self.agentHTTP = agentHTTP
        self.labels = labels
        self.capacity = capacity
        self.ready = ready
        self.version = version
    }

    /// The Node, keeping `previous`'s metadata and condition transition time.
    public func json(previous: JSONValue?, now: Date) -> JSONValue {
        let stamp = StatusTime.json(now)
        let readyText = ready.map { $0 ? "True" : "False" } ?? "Unknown"
        let previousReady = (previous?[path: ["status", "conditions"]]?.arrayValue ?? [])
            .first { $0["type"]?.stringValue == "Ready" }
        let transition = previousReady?["status"]?.stringValue == readyText ? previousReady?["lastTransitionTime"] ?? stamp : stamp
        let resources: JSONValue = [
            "cpu": .string(Self.cpu(capacity.cpus.doubleValue)),
            "memory": .string("\(Int64(capacity.mem.doubleValue * 1_024))Ki"),
            "ephemeral-storage": .string("\(Int64(capacity.disk.doubleValue * 1_024))Ki"),
            "pods": "110",
        ]
        var metadata = previous?["metadata"] ?? [:]
        metadata["name"] = .string(hostname)
        metadata["labels"] = .object(labels.mapValues(JSONValue.string))
        metadata[path: ["annotations", "agora.io/agent-id"]] = .string(agentID)
        metadata[path: ["annotations", "agora.io/agent-http"]] = .string(agentHTTP)
        let port = agentHTTP.split(separator: ":").last.flatMap { Int64($0) } ?? 0
        let architecture = labels["kubernetes.io/arch"] ?? labels["arch"] ?? ""
        return [
            "apiVersion": "v1", "kind": "Node", "metadata": metadata,
            "spec": ["providerID": .string("agora://\(agentID)")],
            "status": [
                "capacity": resources, "allocatable": resources,
                "conditions": [[
                    "type": "Ready", "status": .string(readyText),
                    "reason": .string(ready == nil ? "AgentLost" : "AgentOffering"),
                    "message": .string(ready == nil ? "the Agora master lost this agent" : "the agent offers resources to Agora"),
                    "lastHeartbeatTime": stamp, "lastTransitionTime": transition,
                ]],
                "addresses": [["type": "InternalIP", "address": .string(hostIP)], ["type": "Hostname", "address": .string(hostname)]],
                "daemonEndpoints": ["kubeletEndpoint": ["Port": .int(port)]],
                "nodeInfo": [
                    // What offers do not tell is left empty rather than made up.
                    "architecture": .string(architecture), "bootID": "", "machineID": "", "systemUUID": .string(agentID),
                    "containerRuntimeVersion": .string("agora://\(version)"), "kernelVersion": "",
                    "kubeProxyVersion": "", "kubeletVersion": .string("agora-\(version)"),
                    "operatingSystem": "linux", "osImage": "",
                ],
            ],
        ]
    }

    /// Cores as a quantity: `4`, or `3500m` for a fraction.
    static func cpu(_ cores: Double) -> String {
        let milli = Int64((cores * 1_000).rounded())
        return milli % 1_000 == 0 ? String(milli / 1_000) : "\(milli)m"
    }

    /// Whether two Node objects differ in more than their heartbeat time.
    static func differs(_ a: JSONValue?, _ b: JSONValue) -> Bool {
        func stripped(_ node: JSONValue?) -> JSONValue? {
            guard var node else { return nil }
            node[path: ["metadata", "resourceVersion"]] = nil
            let conditions = node[path: ["status", "conditions"]]?.arrayValue.map { list in
                JSONValue.array(list.map { condition in
                    var condition = condition
                    condition["lastHeartbeatTime"] = nil
                    return condition
                })
            }
            node[path: ["status", "conditions"]] = conditions
            return node
        }
        return stripped(a) != stripped(b)
    }
}
