import Foundation
import Framework

extension AppDefinition {
    /// The message for an app that has nothing Agora can run.
    public static let missingCommandMessage =
        "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."

    /// The message for an app with an image but no command.
    public static let imagesNotSupportedMessage =
        "Agora does not run container images yet: give the app a 'cmd' or 'args' to run on the host "
        + "(the image is kept but not used)"

    /// Every rule this app breaks, with the path of the field, in Marathon's words where
    /// Marathon has them; empty when the app is valid.
    public var violations: [MarathonAPIError.Violation] {
        var found: [MarathonAPIError.Violation] = []
        func fail(_ path: String, _ message: String) { found.append(.init(path: path, message)) }
        func atLeast<N: Comparable & CustomStringConvertible>(_ value: N, _ minimum: N, _ path: String) {
            if value < minimum { fail(path, "got \(value), expected \(minimum) or more") }
        }

        for problem in id.violations { fail("/id", problem) }

        // What to run.
        if cmd != nil, args != nil {
            fail("/", "AppDefinition must not contain both 'cmd' and 'args'.")
        } else if cmd == nil, args == nil {
            if container?.image != nil {
                fail("/container/docker/image", Self.imagesNotSupportedMessage)
            } else {
                fail("/", Self.missingCommandMessage)
            }
        }
        if let cmd, cmd.trimmingCharacters(in: .whitespaces).isEmpty { fail("/cmd", "must not be empty") }

        // Resources and counts.
        atLeast(instances, 0, "/instances")
        atLeast(cpus, 0, "/cpus")
        atLeast(mem, 0, "/mem")
        atLeast(disk, 0, "/disk")
        atLeast(gpus, 0, "/gpus")
        atLeast(backoffSeconds, 0, "/backoffSeconds")
        atLeast(backoffFactor, 1, "/backoffFactor")
        atLeast(maxLaunchDelaySeconds, 0, "/maxLaunchDelaySeconds")
        if let grace = taskKillGracePeriodSeconds { atLeast(grace, 0, "/taskKillGracePeriodSeconds") }

        // Upgrade strategy.
        for (value, name) in [(upgradeStrategy.minimumHealthCapacity, "minimumHealthCapacity"),
                              (upgradeStrategy.maximumOverCapacity, "maximumOverCapacity")] {
            if value < 0 { fail("/upgradeStrategy/\(name)", "is less than 0") }
            if value > 1 { fail("/upgradeStrategy/\(name)", "is greater than 1") }
        }

        if case let .enabled(inactive, expunge) = unreachableStrategy {
            atLeast(inactive, 0, "/unreachableStrategy/inactiveAfterSeconds")
            if expunge < inactive {
                fail("/unreachableStrategy/expungeAfterSeconds", "must be greater than or equal to inactiveAfterSeconds")
            }
        }

        // Ports.
        for (index, definition) in portDefinitions.enumerated() {
            let path = "/portDefinitions(\(index))"
            if !(0...65535).contains(definition.port) {
                fail("\(path)/port", "got \(definition.port), expected between 0 and 65535")
            }
            if !PortDefinition.protocols.contains(definition.protocol) {
                fail("\(path)/protocol", "is not one of (\(PortDefinition.protocols.joined(separator: ",")))")
            }
            if let name = definition.name, !Self.isValidPortName(name) {
                fail("\(path)/name", "must fully match regular expression '^[a-z0-9-]+$'")
            }
        }
        let names = portDefinitions.compactMap(\.name)
        if Set(names).count != names.count { fail("/portDefinitions", "Port names must be unique.") }
        let fixedPorts = portDefinitions.map(\.port).filter { $0 != 0 }
        if Set(fixedPorts).count != fixedPorts.count { fail("/portDefinitions", "Ports must be unique.") }
        if let mappings = container?.portMappings {
            let mappingNames = mappings.compactMap(\.name)
            if Set(mappingNames).count != mappingNames.count {
                fail("/container/portMappings", "Port names must be unique.")
            }
            for (index, mapping) in mappings.enumerated() {
                let path = "/container/portMappings(\(index))"
                for (value, field) in [(mapping.containerPort, "containerPort"), (mapping.hostPort ?? 0, "hostPort"),
                                       (mapping.servicePort ?? 0, "servicePort")] where !(0...65535).contains(value) {
                    fail("\(path)/\(field)", "got \(value), expected between 0 and 65535")
                }
            }
        }

        // Health checks.
        let portCount = usesHostNetworking ? portDefinitions.count : (container?.portMappings.count ?? 0)
        for (index, check) in healthChecks.enumerated() {
            let path = "/healthChecks(\(index))"
            if check.protocol == .command {
                if check.command?.isEmpty ?? true { fail("\(path)/command", "is required for COMMAND health checks") }
            } else {
                if check.port != nil, check.portIndex != nil {
                    fail(path, "Health check must not have both 'port' and 'portIndex'.")
                }
                if let portIndex = check.portIndex, !(0..<portCount).contains(portIndex) {
                    fail("\(path)/portIndex", "Health check port indices must address an element of the ports array "
                        + "or container port mappings.")
                }
                if check.port == nil, check.portIndex == nil {
                    fail(path, "Health check needs a 'port' or 'portIndex', and the app declares no ports.")
                }
                if let port = check.port, !(0...65535).contains(port) {
                    fail("\(path)/port", "got \(port), expected between 0 and 65535")
                }
            }
            if let checkPath = check.path, !checkPath.hasPrefix("/") { fail("\(path)/path", "must start with '/'") }
            atLeast(check.gracePeriodSeconds, 0, "\(path)/gracePeriodSeconds")
            atLeast(check.intervalSeconds, 1, "\(path)/intervalSeconds")
            atLeast(check.timeoutSeconds, 1, "\(path)/timeoutSeconds")
            atLeast(check.maxConsecutiveFailures, 0, "\(path)/maxConsecutiveFailures")
            atLeast(check.delaySeconds, 0, "\(path)/delaySeconds")
        }
        // Agora runs health checks on the agent, and a Mesos task carries one.
        if healthChecks.count > 1 {
            fail("/healthChecks", "Agora runs one health check per app (on the agent); \(healthChecks.count) were given.")
        }

        // Readiness checks.
        if readinessChecks.count > 1 { fail("/readinessChecks", "AppDefinition can contain at most one readiness check.") }
        for (index, check) in readinessChecks.enumerated() {
            let path = "/readinessChecks(\(index))"
            if !names.contains(check.portName) {
                fail("\(path)/portName", "must be the name of one of the port definitions (\(names.joined(separator: ", ")))")
            }
            atLeast(check.intervalSeconds, 1, "\(path)/intervalSeconds")
            if check.timeoutSeconds >= check.intervalSeconds || check.timeoutSeconds < 1 {
                fail("\(path)/timeoutSeconds", "must be at least 1 and less than intervalSeconds")
            }
            if check.httpStatusCodesForReady.contains(where: { !(100...999).contains($0) }) {
                fail("\(path)/httpStatusCodesForReady", "must be HTTP status codes (100 to 999)")
            }
        }

        // Fetch.
        for (index, artifact) in fetch.enumerated() {
            let path = "/fetch(\(index))/uri"
            if artifact.uri.isEmpty {
                fail(path, "must not be empty")
            } else if !Self.isFetchable(artifact.uri) {
                fail(path, "Agora fetches only http://, https:// and file:// URIs and absolute paths")
            }
        }

        // Other references.
        for (index, dependency) in dependencies.enumerated() where !dependency.violations.isEmpty {
            fail("/dependencies(\(index))", dependency.violations.joined(separator: "; "))
        }
        if let roles = acceptedResourceRoles {
            if roles.isEmpty { fail("/acceptedResourceRoles", "must not be empty; leave it out to accept any role") }
            for (index, role) in roles.enumerated() where role.isEmpty {
                fail("/acceptedResourceRoles(\(index))", "must not be empty")
            }
        }
        if let role, role.isEmpty { fail("/role", "must not be empty") }
        if networks.contains(where: { $0.mode == .host }), networks.count > 1 {
            fail("/networks", "host networking may not be mixed with other networks")
        }
        if networks.filter({ $0.mode == .containerBridge }).count > 1 {
            fail("/networks", "at most one container/bridge network is allowed")
        }
        for key in env.keys where key.isEmpty { fail("/env", "variable names must not be empty") }
        return found
    }

    /// Throws 422 `Object is not valid` when `violations` is not empty.
    public func validate() throws(MarathonAPIError) {
        let found = violations
        if !found.isEmpty { throw .notValid(found) }
    }

    static func isValidPortName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    static func isFetchable(_ uri: String) -> Bool {
        let lowered = uri.lowercased()
        return uri.hasPrefix("/") || ["http://", "https://", "file://"].contains { lowered.hasPrefix($0) }
    }
}
