import AgoraProto
import Foundation
import Framework
import Resources

/// Turns an app and the resources an offer granted into the `TaskInfo` to launch:
/// the command, Marathon's environment variables (`PORT0`, `HOST`, `MARATHON_APP_ID`…),
/// fetch URIs, the health check (run by the agent) and the kill grace period.
public enum TaskBuilder {
    /// The label a task carries when its app names a container image: Agora does not
    /// run images yet, so the command runs on the host, and the task says so.
    public static let imageNotRunLabel = "agora.io/container-image-not-run"

    public static func taskInfo(app: AppDefinition, taskID: String, agentID: String, hostname: String,
                                granted: GrantedResources) -> Agora_V1_TaskInfo {
        var task = Agora_V1_TaskInfo()
        task.taskID.value = taskID
        task.name = app.id.segments.last ?? app.id.description
        task.agentID.value = agentID
        task.resources = granted.resources.proto

        var command = Agora_V1_CommandInfo()
        if let args = app.args, let executable = args.first {
            command.shell = false
            command.value = executable
            command.arguments = args
        } else {
            command.shell = true
            command.value = app.cmd ?? ""
        }
        if let user = app.user { command.user = user }
        command.environment = Agora_V1_Environment(environment(app: app, taskID: taskID, hostname: hostname,
                                                               ports: granted.ports))
        command.uris = app.fetch.map { fetch in
            var uri = Agora_V1_CommandInfo.URI()
            uri.value = fetch.uri
            uri.executable = fetch.executable
            uri.extract = fetch.extract
            uri.cache = fetch.cache
            if let output = fetch.outputFile { uri.outputFile = output }
            return uri
        }
        task.command = command

        if let check = app.healthChecks.first, let proto = healthCheck(check, ports: granted.ports) {
            task.healthCheck = proto
        }
        if let grace = app.taskKillGracePeriodSeconds {
            task.killPolicy.gracePeriod.nanoseconds = Int64(grace) * 1_000_000_000
        }
        var labels = app.labels.sorted { $0.key < $1.key }.map { key, value in
            var label = Agora_V1_Label()
            label.key = key
            label.value = value
            return label
        }
        if let image = app.container?.image {
            var label = Agora_V1_Label()
            label.key = imageNotRunLabel
            label.value = "image \(image) was not run: Agora does not run container images yet; cmd runs on the host"
            labels.append(label)
        }
        if !labels.isEmpty { task.labels.labels = labels }
        return task
    }

    /// Marathon's task environment: the app's `env` first, then what Marathon adds.
    static func environment(app: AppDefinition, taskID: String, hostname: String, ports: [UInt64]) -> [String: String] {
        var environment = app.env
        environment["MARATHON_APP_ID"] = app.id.description
        environment["MARATHON_APP_VERSION"] = app.version?.description ?? ""
        environment["MARATHON_APP_RESOURCE_CPUS"] = String(app.cpus)
        environment["MARATHON_APP_RESOURCE_MEM"] = String(app.mem)
        environment["MARATHON_APP_RESOURCE_DISK"] = String(app.disk)
        environment["MARATHON_APP_RESOURCE_GPUS"] = String(app.gpus)
        environment["MARATHON_APP_LABELS"] = app.labels.keys.sorted().joined(separator: " ")
        for (key, value) in app.labels where key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            environment["MARATHON_APP_LABEL_\(key.uppercased())"] = value
        }
        environment["MESOS_TASK_ID"] = taskID
        environment["HOST"] = hostname
        for (index, port) in ports.enumerated() {
            environment["PORT\(index)"] = String(port)
            if index < app.portDefinitions.count, let name = app.portDefinitions[index].name, !name.isEmpty {
                environment["PORT_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))"] = String(port)
            }
        }
        if let first = ports.first { environment["PORT"] = String(first) }
        environment["PORTS"] = ports.map(String.init).joined(separator: ",")
        return environment
    }

    /// The agent-side check for a Marathon health check; nil when its port does not exist.
    static func healthCheck(_ check: HealthCheck, ports: [UInt64]) -> Agora_V1_HealthCheck? {
        var proto = Agora_V1_HealthCheck()
        proto.gracePeriodSeconds = Double(check.gracePeriodSeconds)
        proto.intervalSeconds = Double(check.intervalSeconds)
        proto.timeoutSeconds = Double(check.timeoutSeconds)
        proto.delaySeconds = check.protocol.isMesosCheck ? Double(check.delaySeconds) : 0
        // Marathon: 0 means never kill, except for MESOS_* checks, which kill at the first failure.
        proto.consecutiveFailures = UInt32(check.maxConsecutiveFailures == 0 && check.protocol.isMesosCheck
            ? 1 : check.maxConsecutiveFailures)
        var port: UInt64?
        if let fixed = check.port {
            port = UInt64(fixed)
        } else if check.protocol.needsPort {
            let index = check.portIndex ?? 0
            guard index < ports.count else { return nil }
            port = ports[index]
        }
        switch check.protocol {
        case .http, .https, .mesosHTTP, .mesosHTTPS:
            proto.type = .http
            proto.http.port = UInt32(port ?? 0)
            proto.http.path = check.path ?? "/"
            proto.http.scheme = [.https, .mesosHTTPS].contains(check.protocol) ? "https" : "http"
        case .tcp, .mesosTCP:
            proto.type = .tcp
            proto.tcp.port = UInt32(port ?? 0)
        case .command:
            proto.type = .command
            proto.command.shell = true
            proto.command.value = check.command ?? "true"
        }
        return proto
    }
}

extension AppDefinition {
    /// What the scheduler core reads of the app.
    public var runSpec: RunSpec {
        let ports = requirePorts ? portDefinitions.map { UInt64($0.port) }.filter { $0 != 0 } : []
        let request = ResourceRequest(cpus: cpus, mem: mem, disk: disk, gpus: Double(gpus),
                                      ports: requirePorts ? max(0, hostPortCount - ports.count) : hostPortCount,
                                      requiredPorts: ports)
        let unreachable: RunSpec.UnreachablePolicy? = switch unreachableStrategy {
        case .disabled: nil
        case let .enabled(inactive, expunge):
            RunSpec.UnreachablePolicy(inactiveAfterSeconds: Double(inactive), expungeAfterSeconds: Double(expunge))
        }
        let version = self.version?.description ?? ""
        return RunSpec(
            id: id.description, version: version,
            configVersion: versionInfo?.lastConfigChangeAt.description ?? version,
            instances: instances, request: TaskRequest(request, constraints: constraints),
            hasHealthChecks: !healthChecks.isEmpty, hasReadinessChecks: !readinessChecks.isEmpty,
            minimumHealthCapacity: upgradeStrategy.minimumHealthCapacity,
            maximumOverCapacity: upgradeStrategy.maximumOverCapacity,
            backoffSeconds: Double(backoffSeconds), backoffFactor: backoffFactor,
            maxLaunchDelaySeconds: Double(maxLaunchDelaySeconds),
            killSelection: killSelection == .oldestFirst ? .oldestFirst : .youngestFirst,
            unreachable: unreachable,
            killGracePeriodSeconds: taskKillGracePeriodSeconds.map(Double.init))
    }
}
