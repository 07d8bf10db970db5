import AgoraProto
import Foundation
import Resources

/// Turns a pod into the task group that runs it: one task per container, under one
/// built-in executor.
///
/// Agora does not run container images yet: each container's `command` plus `args`
/// runs directly on the agent's host (argv[0] is `command[0]`, no shell), in the
/// task's sandbox directory or `workingDir`. The image is recorded in the task's
/// labels only.
public enum PodTaskGroup {
    /// Where the group runs, for the environment of its containers.
    public struct Placement: Sendable {
        public var agentID: String
        public var nodeName: String
        public var hostIP: String
        public var attempt: Int

        public init(agentID: String, nodeName: String, hostIP: String, attempt: Int) {
            self.agentID = agentID
            self.nodeName = nodeName
            self.hostIP = hostIP
            self.attempt = attempt
        }
    }

    /// Names of the pod's containers that have no `command`: Agora cannot run them,
    /// since it would have to run the image's entrypoint.
    public static func containersWithoutCommand(_ pod: JSONValue) -> [String] {
        (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { container in
            let command = container["command"]?.arrayValue ?? []
            return command.isEmpty ? (container["name"]?.stringValue ?? "?") : nil
        }
    }

    /// The executor and tasks for one launch attempt of `pod`.
    ///
    /// - Throws: `PodSpecError` when a container has no command, or an environment
    ///   variable comes from a source Agora does not provide (secrets, config maps).
    public static func build(pod: JSONValue, requirements: PodRequirements, placement: Placement)
        throws(PodSpecError) -> (executor: Agora_V1_ExecutorInfo, tasks: [Agora_V1_TaskInfo]) {
        let namespace = pod[path: ["metadata", "namespace"]]?.stringValue ?? "default"
        let name = pod[path: ["metadata", "name"]]?.stringValue ?? ""
        let uid = pod[path: ["metadata", "uid"]]?.stringValue ?? ""
        let containers = pod[path: ["spec", "containers"]]?.arrayValue ?? []
        let grace = pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
        var tasks: [Agora_V1_TaskInfo] = []
        for (index, container) in containers.enumerated() where index < requirements.containers.count {
            let needs = requirements.containers[index]
            let taskID = PodTaskID(namespace: namespace, podName: name, container: needs.name, uid: uid,
                                   attempt: placement.attempt)
            var task = Agora_V1_TaskInfo()
            task.taskID.value = taskID.value
            task.name = "\(namespace)/\(name)/\(needs.name)"
            task.agentID.value = placement.agentID
            task.resources = resources(cpus: needs.cpus, memoryMB: needs.memoryMB, ports: needs.hostPorts).proto
            task.command = try command(container, path: "spec.containers[\(index)]", pod: pod, placement: placement)
            task.killPolicy.gracePeriod.nanoseconds = max(0, grace) * 1_000_000_000
            task.labels.labels = [
                label("k8s.pod", "\(namespace)/\(name)"), label("k8s.container", needs.name),
                label("k8s.image", container["image"]?.stringValue ?? ""),
            ]
            tasks.append(task)
        }
        var executor = Agora_V1_ExecutorInfo()
        executor.type = .default
        executor.executorID.value = PodTaskID(namespace: namespace, podName: name, container: "executor", uid: uid,
                                              attempt: placement.attempt).executorID
        executor.name = "pod \(namespace)/\(name)"
        executor.resources = resources(cpus: PodRequirements.executorCPUs, memoryMB: PodRequirements.executorMemoryMB,
                                       ports: []).proto
        return (executor, tasks)
    }

    static func resources(cpus: Double, memoryMB: Double, ports: [UInt64]) -> Resources {
        var resources = Resources()
        resources.add(Resource(name: "cpus", value: .scalar(Scalar(cpus))))
        resources.add(Resource(name: "mem", value: .scalar(Scalar(memoryMB))))
        if !ports.isEmpty { resources.add(Resource(name: "ports", value: .ranges(RangeSet(ports.map { $0...$0 })))) }
        return resources
    }

    private static func command(_ container: JSONValue, path: String, pod: JSONValue,
                                placement: Placement) throws(PodSpecError) -> Agora_V1_CommandInfo {
        let argv = (container["command"]?.arrayValue ?? []).compactMap(\.stringValue)
            + (container["args"]?.arrayValue ?? []).compactMap(\.stringValue)
        guard let program = argv.first, !program.isEmpty else {
            throw PodSpecError("\(path) has no command; Agora does not run container images yet")
        }
        var info = Agora_V1_CommandInfo()
        info.shell = false
        if let directory = container["workingDir"]?.stringValue, !directory.isEmpty {
            // `sh -c` only to change directory: $0 is the directory, "$@" the real argv.
            info.value = "/bin/sh"
            info.arguments = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argv
        } else {
            info.value = program
            info.arguments = argv
        }
        for (index, variable) in (container["env"]?.arrayValue ?? []).enumerated() {
            guard let name = variable["name"]?.stringValue, !name.isEmpty else {
                throw PodSpecError("\(path).env[\(index)].name is missing")
            }
            var entry = Agora_V1_Environment.Variable()
            entry.name = name
            entry.type = .value
            if let source = variable["valueFrom"] {
                guard let field = source[path: ["fieldRef", "fieldPath"]]?.stringValue else {
                    throw PodSpecError("\(path).env[\(index)] (\(name)): only valueFrom.fieldRef is supported; Agora has no secrets or config maps yet")
                }
                entry.value = try fieldValue(field, pod: pod, placement: placement, path: "\(path).env[\(index)]")
            } else {
                entry.value = variable["value"]?.stringValue ?? ""
            }
            info.environment.variables.append(entry)
        }
        return info
    }

    private static func fieldValue(_ field: String, pod: JSONValue, placement: Placement,
                                   path: String) throws(PodSpecError) -> String {
        switch field {
        case "metadata.name": return pod[path: ["metadata", "name"]]?.stringValue ?? ""
        case "metadata.namespace": return pod[path: ["metadata", "namespace"]]?.stringValue ?? "default"
        case "metadata.uid": return pod[path: ["metadata", "uid"]]?.stringValue ?? ""
        case "spec.nodeName": return placement.nodeName
        case "spec.serviceAccountName": return pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? "default"
        case "status.podIP", "status.hostIP": return placement.hostIP
        default:
            throw PodSpecError("\(path).valueFrom.fieldRef.fieldPath \(field) is not supported; use metadata.name, metadata.namespace, metadata.uid, spec.nodeName, status.podIP or status.hostIP")
        }
    }

    private static func label(_ key: String, _ value: String) -> Agora_V1_Label {
        var label = Agora_V1_Label()
        label.key = key
        label.value = value
        return label
    }
}
