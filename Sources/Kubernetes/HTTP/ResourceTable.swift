import Foundation

/// Server-side printing for `kubectl get`: the `meta.k8s.io` Table with the columns the
/// real API server prints for each type (priority 1 columns appear with `-o wide`).
struct ResourceTable {
    let type: ResourceType
    /// The clock for the AGE and LAST SEEN columns.
    let now: Date

    struct Column {
        let name: String
        let type: String
        let format: String
        let priority: Int
        let description: String

        init(_ name: String, type: String = "string", format: String = "", priority: Int = 0, _ description: String) {
            self.name = name
            self.type = type
            self.format = format
            self.priority = priority
            self.description = description
        }

        var definition: JSONValue {
            ["name": .string(name), "type": .string(type), "format": .string(format),
             "description": .string(description), "priority": .int(Int64(priority))]
        }
    }

    var columns: [Column] {
        let name = Column("Name", format: "name", "Name must be unique within a namespace.")
        let age = Column("Age", "CreationTimestamp is when the object was created.")
        switch type {
        case .pods:
            return [name, Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
                    Column("Status", "The aggregate status of the containers in this pod."),
                    Column("Restarts", "The number of times the containers in this pod have been restarted."), age,
                    Column("IP", priority: 1, "IP address allocated to the pod."),
                    Column("Node", priority: 1, "Name of the node where the pod is scheduled."),
                    Column("Nominated Node", priority: 1, "Name of the node nominated by the scheduler, if any."),
                    Column("Readiness Gates", priority: 1, "Pod readiness gates.")]
        case .nodes:
            return [name, Column("Status", "The status of the node"), Column("Roles", "The roles of the node"), age,
                    Column("Version", "Kubelet Version reported by the node."),
                    Column("Internal-IP", priority: 1, "List of internal IPs for the node."),
                    Column("External-IP", priority: 1, "List of external IPs for the node."),
                    Column("OS-Image", priority: 1, "OS image reported by the node."),
                    Column("Kernel-Version", priority: 1, "Kernel version reported by the node."),
                    Column("Container-Runtime", priority: 1, "Container runtime reported by the node.")]
        case .deployments:
            return [name, Column("Ready", "Number of the pod with ready state"),
                    Column("Up-to-date", type: "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
                    Column("Available", type: "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
                    age] + workloadWideColumns
        case .replicaSets:
            return [name, Column("Desired", type: "integer", "Number of desired pods."),
                    Column("Current", type: "integer", "Number of actual replicas."),
                    Column("Ready", type: "integer", "Number of ready replicas."), age] + workloadWideColumns
        case .namespaces:
            return [name, Column("Status", "The status of the namespace"), age]
        case .events:
            return [Column("Last Seen", "The time the event was last seen."), Column("Type", "The type of the event."),
                    Column("Reason", "The reason of the event."), Column("Object", "The object the event is about."),
                    Column("Message", "The message of the event.")]
        default:
            return [name, age]
        }
    }

    private var workloadWideColumns: [Column] {
        [Column("Containers", priority: 1, "Names of each container in the template."),
         Column("Images", priority: 1, "Images referenced by each container in the template."),
         Column("Selector", priority: 1, "Label selector for pods.")]
    }

    /// The Table for `objects`; `includeObject` is "None", "Metadata" (the default) or
    /// "Object"; `withColumns` false leaves out columnDefinitions (later watch events).
    func table(_ objects: [JSONValue], resourceVersion: String?, includeObject: String?, withColumns: Bool = true,
               apiVersion: String = "meta.k8s.io/v1") -> JSONValue {
        var table: JSONValue = ["kind": "Table", "apiVersion": .string(apiVersion),
                                "metadata": resourceVersion.map { ["resourceVersion": .string($0)] } ?? [:]]
        table["columnDefinitions"] = withColumns ? .array(columns.map(\.definition)) : .array([])
        table["rows"] = .array(objects.map { object in
            var row: JSONValue = ["cells": .array(cells(object))]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = object
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                 "metadata": object["metadata"] ?? [:]]
            }
            return row
        })
        return table
    }

    func cells(_ object: JSONValue) -> [JSONValue] {
        let name = JSONValue.string(object.name)
        let age = JSONValue.string(Self.age(of: object[path: ["metadata", "creationTimestamp"]]?.stringValue, now: now))
        switch type {
        case .pods: return podCells(object, name: name, age: age)
        case .nodes: return nodeCells(object, name: name, age: age)
        case .deployments:
            let replicas = object[path: ["spec", "replicas"]]?.intValue ?? 1
            let ready = object[path: ["status", "readyReplicas"]]?.intValue ?? 0
            return [name, .string("\(ready)/\(replicas)"), .int(object[path: ["status", "updatedReplicas"]]?.intValue ?? 0),
                    .int(object[path: ["status", "availableReplicas"]]?.intValue ?? 0), age] + workloadWideCells(object)
        case .replicaSets:
            return [name, .int(object[path: ["spec", "replicas"]]?.intValue ?? 1),
                    .int(object[path: ["status", "replicas"]]?.intValue ?? 0),
                    .int(object[path: ["status", "readyReplicas"]]?.intValue ?? 0), age] + workloadWideCells(object)
        case .namespaces:
            return [name, .string(object[path: ["status", "phase"]]?.stringValue ?? "Active"), age]
        case .events:
            let lastSeen = object["lastTimestamp"]?.stringValue ?? object["eventTime"]?.stringValue
                ?? object[path: ["metadata", "creationTimestamp"]]?.stringValue
            let involved = object["involvedObject"]
            let kind = involved?["kind"]?.stringValue?.lowercased() ?? ""
            let target = "\(kind)/\(involved?["name"]?.stringValue ?? "")"
            return [.string(Self.age(of: lastSeen, now: now)), .string(object["type"]?.stringValue ?? ""),
                    .string(object["reason"]?.stringValue ?? ""), .string(target), .string(object["message"]?.stringValue ?? "")]
        default:
            return [name, age]
        }
    }

    private func podCells(_ pod: JSONValue, name: JSONValue, age: JSONValue) -> [JSONValue] {
        let statuses = pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []
        let total = pod[path: ["spec", "containers"]]?.arrayValue?.count ?? statuses.count
        let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
        let restarts = statuses.reduce(Int64(0)) { $0 + ($1["restartCount"]?.intValue ?? 0) }
        let gates = pod[path: ["spec", "readinessGates"]]?.arrayValue ?? []
        var gatesCell = "<none>"
        if !gates.isEmpty {
            let conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
            let passed = gates.filter { gate in
                conditions.contains { $0["type"] == gate["conditionType"] && $0["status"] == "True" }
            }.count
            gatesCell = "\(passed)/\(gates.count)"
        }
        return [name, .string("\(ready)/\(total)"), .string(Self.podStatus(pod)), .int(restarts), age,
                .string(pod[path: ["status", "podIP"]]?.stringValue ?? "<none>"),
                .string(pod[path: ["spec", "nodeName"]]?.stringValue ?? "<none>"),
                .string(pod[path: ["status", "nominatedNodeName"]]?.stringValue ?? "<none>"), .string(gatesCell)]
    }

    /// The STATUS column as kubectl derives it: the phase (or status.reason), overridden by
    /// an init container's or container's waiting or terminated reason, "Terminating" once
    /// a deletionTimestamp is set.
    static func podStatus(_ pod: JSONValue) -> String {
        var reason = pod[path: ["status", "phase"]]?.stringValue ?? "Pending"
        if let statusReason = pod[path: ["status", "reason"]]?.stringValue, !statusReason.isEmpty { reason = statusReason }
        var initializing = false
        let initStatuses = pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []
        let initCount = pod[path: ["spec", "initContainers"]]?.arrayValue?.count ?? initStatuses.count
        for (index, status) in initStatuses.enumerated() {
            if let terminated = status[path: ["state", "terminated"]], terminated.objectValue != nil,
               terminated["exitCode"]?.intValue == 0 {
                continue
            }
            initializing = true
            if let terminated = status[path: ["state", "terminated"]], terminated.objectValue != nil {
                if let why = terminated["reason"]?.stringValue, !why.isEmpty {
                    reason = "Init:" + why
                } else if let signal = terminated["signal"]?.intValue, signal != 0 {
                    reason = "Init:Signal:\(signal)"
                } else {
                    reason = "Init:ExitCode:\(terminated["exitCode"]?.intValue ?? 0)"
                }
            } else if let why = status[path: ["state", "waiting", "reason"]]?.stringValue, !why.isEmpty, why != "PodInitializing" {
                reason = "Init:" + why
            } else {
                reason = "Init:\(index)/\(initCount)"
            }
            break
        }
        if !initializing {
            var hasRunning = false
            for status in (pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []).reversed() {
                let state = status["state"]
                if let why = state?[path: ["waiting", "reason"]]?.stringValue, !why.isEmpty {
                    reason = why
                } else if let terminated = state?["terminated"], terminated.objectValue != nil {
                    if let why = terminated["reason"]?.stringValue, !why.isEmpty {
                        reason = why
                    } else if let signal = terminated["signal"]?.intValue, signal != 0 {
                        reason = "Signal:\(signal)"
                    } else {
                        reason = "ExitCode:\(terminated["exitCode"]?.intValue ?? 0)"
                    }
                } else if status["ready"]?.boolValue == true, state?["running"]?.objectValue != nil {
                    hasRunning = true
                }
            }
            if reason == "Completed", hasRunning {
                let ready = (pod[path: ["status", "conditions"]]?.arrayValue ?? [])
                    .contains { $0["type"] == "Ready" && $0["status"] == "True" }
                reason = ready ? "Running" : "NotReady"
            }
        }
        if pod[path: ["metadata", "deletionTimestamp"]] != nil {
            reason = pod[path: ["status", "reason"]]?.stringValue == "NodeLost" ? "Unknown" : "Terminating"
        }
        return reason
    }

    private func nodeCells(_ node: JSONValue, name: JSONValue, age: JSONValue) -> [JSONValue] {
        let conditions = node[path: ["status", "conditions"]]?.arrayValue ?? []
        var status = conditions.first { $0["type"] == "Ready" }?["status"]?.stringValue == "True" ? "Ready" : "NotReady"
        if conditions.first(where: { $0["type"] == "Ready" }) == nil { status = "Unknown" }
        if node[path: ["spec", "unschedulable"]]?.boolValue == true { status += ",SchedulingDisabled" }
        let roles = node.labels.keys.compactMap { key -> String? in
            guard key.hasPrefix("node-role.kubernetes.io/") else { return nil }
            return String(key.dropFirst("node-role.kubernetes.io/".count))
        }.sorted()
        let addresses = node[path: ["status", "addresses"]]?.arrayValue ?? []
        func address(_ kind: String) -> String {
            addresses.first { $0["type"]?.stringValue == kind }?["address"]?.stringValue ?? "<none>"
        }
        func info(_ key: String) -> JSONValue { .string(node[path: ["status", "nodeInfo", key]]?.stringValue ?? "<unknown>") }
        return [name, .string(status), .string(roles.isEmpty ? "<none>" : roles.joined(separator: ",")), age,
                info("kubeletVersion"), .string(address("InternalIP")), .string(address("ExternalIP")),
                info("osImage"), info("kernelVersion"), info("containerRuntimeVersion")]
    }

    private func workloadWideCells(_ object: JSONValue) -> [JSONValue] {
        let containers = object[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
        let selector = object[path: ["spec", "selector", "matchLabels"]]?.objectValue ?? [:]
        return [.string(containers.compactMap { $0["name"]?.stringValue }.joined(separator: ",")),
                .string(containers.compactMap { $0["image"]?.stringValue }.joined(separator: ",")),
                .string(selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.selectorString ?? "")" }
                    .joined(separator: ","))]
    }

    /// The age of an RFC 3339 timestamp as kubectl prints it ("45s", "3m12s", "5h", "12d").
    static func age(of timestamp: String?, now: Date) -> String {
        guard let timestamp, let date = try? Date(timestamp, strategy: .iso8601) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(date))
    }

    /// Kubernetes' HumanDuration: coarser units as durations grow.
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let rest = seconds % 60
            return rest == 0 ? "\(minutes)m" : "\(minutes)m\(rest)s"
        }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 {
            let rest = minutes % 60
            return rest == 0 ? "\(hours)h" : "\(hours)h\(rest)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let rest = hours % 24
            return rest == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(rest)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let rest = (hours / 24) % 365
            return rest == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(rest)d"
        }
        return "\(hours / 24 / 365)y"
    }
}
