import AgoraProto
import Foundation

/// Builds a pod's `status` from what Agora knows about it. Pure: the time is an input.
public enum PodStatusBuilder {
    /// Everything the status depends on besides the pod itself.
    public struct Facts: Sendable {
        /// The current launch attempt, if the pod was ever launched.
        public var run: PodRun?
        /// Why the pod could not be placed (PodScheduled=False), while it has no run.
        public var unschedulable: String?
        /// Set while the group waits to be launched again after it ended.
        public var backoffUntil: Date?
        /// Set once the pod is done for good (restartPolicy said so).
        public var finalPhase: String?
        /// The terminated state of each container in the previous attempt (`lastState`).
        public var lastTerminated: [String: JSONValue]

        public init(run: PodRun? = nil, unschedulable: String? = nil, backoffUntil: Date? = nil, finalPhase: String? = nil,
                    lastTerminated: [String: JSONValue] = [:]) {
            self.run = run
            self.unschedulable = unschedulable
            self.backoffUntil = backoffUntil
            self.finalPhase = finalPhase
            self.lastTerminated = lastTerminated
        }
    }

    /// The new `status` of `pod`; condition transition times are kept from the pod's
    /// current status where a condition did not change.
    public static func status(of pod: JSONValue, facts: Facts, now: Date) -> JSONValue {
        let previous = pod["status"] ?? .object([:])
        let specContainers = pod[path: ["spec", "containers"]]?.arrayValue ?? []
        let imageless = Set(PodTaskGroup.containersWithoutCommand(pod))
        let podName = pod[path: ["metadata", "name"]]?.stringValue ?? ""
        let deleting = pod[path: ["metadata", "deletionTimestamp"]] != nil
        var status: [String: JSONValue] = ["qosClass": .string(qosClass(specContainers))]

        var statuses: [JSONValue] = []
        var allReady = !specContainers.isEmpty
        var anyStarted = false
        for container in specContainers {
            let name = container["name"]?.stringValue ?? ""
            var entry: [String: JSONValue] = [
                "name": .string(name), "image": container["image"] ?? .string(""), "imageID": .string(""),
                "restartCount": .int(Int64(facts.run?.attempt ?? 0)),
            ]
            var ready = false
            var started = false
            if let task = facts.run?.containers[name] {
                entry["containerID"] = .string("agora://" + task.taskID)
                if let backoffUntil = facts.backoffUntil, facts.finalPhase == nil {
                    let seconds = Int(max(0, backoffUntil.timeIntervalSince(now)).rounded(.up))
                    entry["state"] = waiting("CrashLoopBackOff",
                                             "back-off \(seconds)s restarting failed container=\(name) pod=\(podName)")
                    entry["lastState"] = .object(["terminated": terminated(task)])
                } else {
                    switch task.state {
                    case .taskStaging, .taskStarting:
                        entry["state"] = waiting("ContainerCreating", nil)
                    case .taskRunning, .taskKilling, .taskUnreachable, .taskUnknown:
                        started = true
                        ready = task.state == .taskRunning && !deleting
                        entry["state"] = .object(["running": .object(["startedAt": StatusTime.json(task.startedAt ?? now)])])
                    default:
                        entry["state"] = .object(["terminated": terminated(task)])
                    }
                    if entry["lastState"] == nil, let last = facts.lastTerminated[name] {
                        entry["lastState"] = .object(["terminated": last])
                    }
                }
            } else if imageless.contains(name) {
                entry["state"] = waiting("ImagesNotSupported",
                                         "Agora does not run container images yet: the container's command runs on the agent's host; give the container a command")
            } else {
                entry["state"] = waiting(facts.run == nil ? "Pending" : "ContainerCreating", nil)
            }
            entry["ready"] = .bool(ready)
            entry["started"] = .bool(started)
            allReady = allReady && ready
            anyStarted = anyStarted || started
            statuses.append(.object(entry))
        }

        let phase: String
        if let finalPhase = facts.finalPhase {
            phase = finalPhase
        } else if let run = facts.run, anyStarted || facts.backoffUntil != nil || run.hasEnded {
            phase = "Running"
        } else {
            phase = "Pending"
        }
        status["phase"] = .string(phase)
        if facts.run != nil || !imageless.isEmpty { status["containerStatuses"] = .array(statuses) }

        let scheduled = facts.run != nil
        var conditions: [(type: String, status: Bool, reason: String?, message: String?)] = []
        if scheduled {
            conditions.append(("PodScheduled", true, nil, nil))
            conditions.append(("Initialized", true, nil, nil))
            let done = facts.finalPhase != nil
            let readyReason = done ? "PodCompleted" : allReady ? nil : "ContainersNotReady"
            let notReady = specContainers.compactMap { $0["name"]?.stringValue }
                .filter { name in !(statuses.first { $0["name"]?.stringValue == name }?["ready"]?.boolValue ?? false) }
            let readyMessage = done || allReady ? nil : "containers with unready status: [\(notReady.joined(separator: " "))]"
            conditions.append(("ContainersReady", allReady && !done, readyReason, readyMessage))
            conditions.append(("Ready", allReady && !done, readyReason, readyMessage))
        } else if !imageless.isEmpty {
            conditions.append(("PodScheduled", false, "ImagesNotSupported",
                               "containers without a command cannot run on Agora: \(imageless.sorted().joined(separator: ", "))"))
        } else if let unschedulable = facts.unschedulable {
            conditions.append(("PodScheduled", false, "Unschedulable", unschedulable))
        }
        let previousConditions = previous["conditions"]?.arrayValue ?? []
        status["conditions"] = .array(conditions.map { condition in
            let value = condition.status ? "True" : "False"
            let old = previousConditions.first { $0["type"]?.stringValue == condition.type }
            let since = old?["status"]?.stringValue == value ? old?["lastTransitionTime"] : nil
            var object: [String: JSONValue] = [
                "type": .string(condition.type), "status": .string(value),
                "lastProbeTime": .null, "lastTransitionTime": since ?? StatusTime.json(now),
            ]
            if let reason = condition.reason { object["reason"] = .string(reason) }
            if let message = condition.message { object["message"] = .string(message) }
            return .object(object)
        })
        if let run = facts.run {
            status["hostIP"] = .string(run.hostIP)
            status["hostIPs"] = .array([.object(["ip": .string(run.hostIP)])])
            status["podIP"] = .string(run.hostIP)
            status["podIPs"] = .array([.object(["ip": .string(run.hostIP)])])
            status["startTime"] = previous["startTime"] ?? StatusTime.json(run.launchedAt)
        }
        return .object(status)
    }

    /// `Guaranteed` when every container's requests equal its limits for cpu and
    /// memory, `BestEffort` when no container sets any, `Burstable` otherwise.
    static func qosClass(_ containers: [JSONValue]) -> String {
        var anySet = false
        var guaranteed = !containers.isEmpty
        for container in containers {
            let limits = container[path: ["resources", "limits"]]?.objectValue ?? [:]
            let requests = container[path: ["resources", "requests"]]?.objectValue ?? [:]
            if !limits.isEmpty || !requests.isEmpty { anySet = true }
            for resource in ["cpu", "memory"] {
                guard let limit = limits[resource].flatMap({ try? Quantity($0) }) else { guaranteed = false; continue }
                if let request = requests[resource].flatMap({ try? Quantity($0) }), request.value != limit.value {
                    guaranteed = false
                }
            }
        }
        return guaranteed ? "Guaranteed" : anySet ? "Burstable" : "BestEffort"
    }

    /// A terminated container state: exit code, `Completed` for 0 else `Error`.
    static func terminated(_ task: PodRun.ContainerTask) -> JSONValue {
        let code = task.exitCode ?? (task.state == .taskFinished ? 0 : 137)
        var object: [String: JSONValue] = [
            "exitCode": .int(Int64(code)), "reason": .string(code == 0 ? "Completed" : "Error"),
            "containerID": .string("agora://" + task.taskID),
        ]
        if let startedAt = task.startedAt { object["startedAt"] = StatusTime.json(startedAt) }
        if let finishedAt = task.finishedAt { object["finishedAt"] = StatusTime.json(finishedAt) }
        if !task.message.isEmpty { object["message"] = .string(task.message) }
        return .object(object)
    }

    private static func waiting(_ reason: String, _ message: String?) -> JSONValue {
        var object: [String: JSONValue] = ["reason": .string(reason)]
        if let message { object["message"] = .string(message) }
        return .object(["waiting": .object(object)])
    }
}
