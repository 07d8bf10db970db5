import Agent
import AgoraProto
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Resources
import ServiceLifecycle

/// `agora agent`: the agent daemon on each host.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run an agent: offer this host's resources to the master and run tasks.",
        discussion: """
            Detects cpus, memory, disk and ports (flags override), registers with the \
            master, and prints one JSON line with "ready": true, its agent ID and HTTP \
            address once admitted. Executors keep running when the agent stops.
            """
    )

    @Option(help: "The master, as HOST:PORT or tcp://HOST:PORT.")
    var master: String

    @Option(help: "Directory for sandboxes and the agent's state.")
    var workDir: String

    @Option(help: "IP address for the agent's HTTP server.")
    var ip = "0.0.0.0"

    @Option(help: "Host name the agent reports (default: this host's name).")
    var hostname: String?

    @Option(help: "HTTP port for sandbox files, /health, /state and /metrics (0 picks a free one).")
    var httpPort = 5051

    @Option(help: "Resources, replacing detected ones by name, e.g. \"cpus:4;mem:8192;ports:[31000-32000]\".")
    var resources = ""

    @Option(help: "Attributes, e.g. \"rack:r1;zone:a\".")
    var attributes = ""

    @Option(help: "cgroups (limits enforced; the default where the host allows) or posix (process groups only).")
    var isolation: String?

    @Flag(help: "Also enforce a hard CPU ceiling with the CFS quota.")
    var cfsQuota = false

    @Option(help: "How long to keep the sandboxes of finished executors, e.g. 1h.")
    var sandboxRetention = DurationArgument(.seconds(3_600))

    @Option(help: "How long an executor may take to connect before its tasks fail.")
    var executorRegistrationTimeout = DurationArgument(.seconds(60))

    @Option(help: "How long a built-in executor waits for this agent to come back before it kills its tasks and exits.")
    var recoveryTimeout = DurationArgument(.seconds(15 * 60))

    @Option(help: "First retry interval for unacknowledged status updates (doubles up to 10 min).")
    var statusUpdateRetry = DurationArgument(.seconds(10))

    @Option(help: "After a restart on the same work dir: reconnect to the running executors, or cleanup (kill them and register as a new agent).")
    var recover = "reconnect"

    @Flag(help: "Stop all tasks when the agent stops (normally they keep running).")
    var killExecutorsOnShutdown = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65_535).contains(httpPort) else { throw ValidationError("--http-port must be between 0 and 65535") }
        guard AgentRuntimeOptions.RecoveryMode(rawValue: recover) != nil else {
            throw ValidationError("invalid --recover \"\(recover)\": use reconnect or cleanup")
        }
        if let isolation, !["cgroups", "posix"].contains(isolation) {
            throw ValidationError("invalid --isolation \"\(isolation)\": use cgroups or posix")
        }
    }

    func run() async throws {
        try bootstrapLogging(level: logLevel)
        let logger = Logger(label: "agora.agent")
        let masterAddress = try masterEndpoint(master)
        let workDirectory = try prepareWorkDirectory(workDir)
        let overrides: Resources
        let parsedAttributes: Attributes
        do {
            overrides = try Resources(parsing: resources)
        } catch {
            throw ValidationError("invalid --resources: \(error)")
        }
        do {
            parsedAttributes = try Attributes(parsing: attributes)
        } catch {
            throw ValidationError("invalid --attributes: \(error)")
        }
        let host: HostFacts
        do {
            host = try HostFacts.read(workDirectory: workDirectory)
        } catch {
            throw ValidationError("cannot read this host's resources: \(error)")
        }
        let total = ResourceDetector.resources(detected: ResourceDetector.defaults(for: host), overrides: overrides)

        let isolator = try chooseIsolator(logger: logger)
        let name = hostname ?? localHostname()
        var info = Agora_V1_AgentInfo()
        info.hostname = name
        info.port = Int32(httpPort)
        info.resources = total.proto
        info.attributes = parsedAttributes.proto
        var configuration = AgentConfiguration(
            agentInfo: info, httpAddress: "", bootID: Self.bootID(), version: AgoraVersion.current,
            startedAtUnixSeconds: Date().timeIntervalSince1970)
        configuration.executorRegistrationTimeout = executorRegistrationTimeout.duration
        configuration.statusUpdateBackoff = statusUpdateRetry.duration ... max(statusUpdateRetry.duration, .seconds(600))

        var runtime = AgentRuntimeOptions(agoraExecutable: currentExecutablePath(), workDirectory: workDirectory,
                                          useCgroups: isolator != nil, cfsQuota: cfsQuota,
                                          sandboxRetention: sandboxRetention.duration)
        runtime.killExecutorsOnShutdown = killExecutorsOnShutdown
        runtime.executorRecoveryTimeout = recoveryTimeout.duration
        runtime.recovery = AgentRuntimeOptions.RecoveryMode(rawValue: recover) ?? .reconnect
        let agent: AgentServer
        do {
            agent = try AgentServer(
                configuration: configuration, masterAddress: masterAddress,
                options: runtime,
                isolator: isolator, logger: logger)
        } catch {
            throw ValidationError("cannot start the agent in \(workDirectory): \(error)")
        }
        let advertised = advertisedHost(boundIP: ip, override: hostname)
        logger.info("agent on \(name) offers \(total); isolation \(isolator.map { "cgroup \($0.version)" } ?? "posix")")
        let app = Application(
            router: AgentHTTP.router(snapshots: agent.snapshots, workDirectory: workDirectory),
            configuration: .init(address: .hostname(ip, port: httpPort), serverName: "agora-agent"),
            onServerRunning: { channel in
                let httpAddress = "http://\(advertised):\(channel.localAddress?.port ?? 0)"
                await agent.begin(httpAddress: httpAddress)
                Task {
                    let id = await agent.waitUntilRegistered()
                    printReadyLine(["agent_id": id, "agent_http": httpAddress, "master": masterAddress])
                }
            },
            logger: Logger(label: "agora.agent.http"))
        let services = ServiceGroup(services: [agent, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await services.run()
    }

    private func chooseIsolator(logger: Logger) throws -> (any CgroupIsolator)? {
        if isolation == "posix" { return nil }
        switch selectIsolator(layout: CgroupLayout.detect()) {
        case .success(let isolator):
            return isolator
        case .failure(let reason):
            if isolation == "cgroups" {
                throw ValidationError("--isolation cgroups is not possible on this host: \(reason)")
            }
            logger.warning("running without cgroups (no cpu or memory limits): \(reason)")
            return nil
        }
    }

    /// The kernel's boot ID: a new one means the host rebooted.
    static func bootID() -> String {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "unknown"
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
