import AgoraProto
import ProcessSupervision

/// A task's `HealthCheck`, validated: what to probe and when.
struct HealthCheckSpec: Sendable, Equatable {
    /// One check's kind, as Mesos runs them.
    enum Probe: Sendable, Equatable {
        /// GET `http://127.0.0.1:port/path`; healthy when the status is in `statuses`,
        /// or in 200–399 when `statuses` is empty.
        case http(port: Int, path: String, statuses: Set<Int>)
        /// A TCP connection to 127.0.0.1:port.
        case tcp(port: Int)
        /// A command in the task's directory with its environment; exit 0 is healthy.
        case command(SpawnSpec)
    }

    var policy: HealthCheckPolicy
    var probe: Probe

    /// Validates `check` for a task that runs in `directory` with `environment`.
    init(_ check: Agora_V1_HealthCheck, directory: String, environment: [String: String]) throws(HealthCheckError) {
        policy = HealthCheckPolicy(
            delay: try Self.seconds(check.delaySeconds, "delay_seconds"),
            interval: try Self.seconds(check.intervalSeconds, "interval_seconds", positive: true),
            timeout: try Self.seconds(check.timeoutSeconds, "timeout_seconds", positive: true),
            consecutiveFailures: Int(check.consecutiveFailures),
            gracePeriod: try Self.seconds(check.gracePeriodSeconds, "grace_period_seconds"))
        switch try Self.type(of: check) {
        case .http:
            let http = check.http
            let scheme = http.scheme.lowercased()
            guard scheme.isEmpty || scheme == "http" else {
                throw HealthCheckError("HTTP health checks support the http scheme only, not \(http.scheme.debugDescription)")
            }
            let port = try Self.port(http.port, "http.port")
            let path = http.path.isEmpty ? "/" : http.path.hasPrefix("/") ? http.path : "/" + http.path
            guard !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
                throw HealthCheckError("http.path \(http.path.debugDescription) contains whitespace")
            }
            for status in http.statuses where !(100...599).contains(status) {
                throw HealthCheckError("http.statuses holds \(status), which is not an HTTP status code")
            }
            probe = .http(port: port, path: path, statuses: Set(http.statuses.map(Int.init)))
        case .tcp:
            probe = .tcp(port: try Self.port(check.tcp.port, "tcp.port"))
        case .command:
            let command = check.command
            let shell = !command.hasShell || command.shell
            let executable = shell || !command.value.isEmpty ? command.value : command.arguments.first ?? ""
            guard !executable.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw HealthCheckError("the COMMAND health check has no command")
            }
            let checkEnvironment = environment.merging(command.environment.dictionary) { _, own in own }
            probe = .command(SpawnSpec(command: executable, shell: shell,
                                       arguments: shell ? [] : Array(command.arguments.dropFirst()),
                                       environment: checkEnvironment, workingDirectory: directory,
                                       stdoutPath: "/dev/null", stderrPath: "/dev/null"))
        default:
            throw HealthCheckError("unsupported health check type \(check.type)")
        }
    }

    /// The check's type; an unset type is taken from the one kind of check that is filled in.
    private static func type(of check: Agora_V1_HealthCheck) throws(HealthCheckError) -> Agora_V1_HealthCheck.TypeEnum {
        if check.hasType, check.type != .unknown { return check.type }
        let given: [Agora_V1_HealthCheck.TypeEnum] = [check.hasHTTP ? .http : nil, check.hasTcp ? .tcp : nil,
                                                       check.hasCommand ? .command : nil].compactMap { $0 }
        guard given.count == 1 else {
            throw HealthCheckError("the health check needs a type: COMMAND, HTTP or TCP")
        }
        return given[0]
    }

    private static func seconds(_ value: Double, _ field: String, positive: Bool = false) throws(HealthCheckError) -> Duration {
        guard value.isFinite, value >= 0, value < 1e9 else {
            throw HealthCheckError("\(field) must be a non-negative number of seconds, not \(value)")
        }
        guard !positive || value > 0 else { throw HealthCheckError("\(field) must be more than 0 seconds") }
        return .nanoseconds(Int64((value * 1e9).rounded()))
    }

    private static func port(_ value: UInt32, _ field: String) throws(HealthCheckError) -> Int {
        guard (1...65_535).contains(value) else { throw HealthCheckError("\(field) must be a TCP port (1-65535), not \(value)") }
        return Int(value)
    }
}

extension HealthCheckSpec.Probe: CustomStringConvertible {
    /// What the check does, for messages: "HTTP GET /health".
    var description: String {
        switch self {
        case .http(_, let path, _): "HTTP GET \(path)"
        case .tcp(let port): "TCP connection to port \(port)"
        case .command(let spec): "command check `\(spec.command)`"
        }
    }
}

/// A task's health check is invalid; `description` names the field and the problem.
struct HealthCheckError: Error, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
