import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Master
import ServiceLifecycle

/// `agora master`: the master daemon.
struct MasterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master",
        abstract: "Run the master: pool the agents' resources and offer them to frameworks.",
        discussion: """
            Prints one JSON line with "ready": true and its endpoints once it serves. \
            Stops cleanly on SIGTERM or Ctrl-C; running tasks are not affected.

            The registry (agents, frameworks, weights) is kept in registry.sqlite in \
            --work-dir. Restarted on the same work dir, the master waits for its agents \
            to re-register with their tasks and for frameworks to re-subscribe.
            """
    )

    @Option(help: "Directory for the master's state.")
    var workDir: String

    @Option(help: "IP address to bind (0.0.0.0 for all interfaces).")
    var ip = "0.0.0.0"

    @Option(help: "Host name or IP that agents and frameworks use to reach this master.")
    var advertiseHost: String?

    @Option(help: "ZeroMQ port for agents and frameworks (0 picks a free one).")
    var port = 5050

    @Option(help: "HTTP port for /health, /state and /metrics (0 picks a free one).")
    var httpPort = 5080

    @Option(help: "Time between allocation cycles, e.g. 1s or 250ms.")
    var allocationInterval = DurationArgument(.seconds(1))

    @Option(help: "Rescind offers not answered within this time (default: never).")
    var offerTimeout: DurationArgument?

    @Option(help: "Interval between pings to each agent; an unanswered ping counts as missed.")
    var agentPingTimeout = DurationArgument(.seconds(15))

    @Option(help: "Consecutive missed pings after which an agent is unreachable.")
    var maxAgentPingTimeouts = 5

    @Option(help: "Interval of HEARTBEAT events to frameworks.")
    var frameworkHeartbeatInterval = DurationArgument(.seconds(15))

    @Option(help: "After a restart, agents that do not re-register within this are marked unreachable, e.g. 10m.")
    var agentReregisterTimeout = DurationArgument(.seconds(600))

    @Option(help: "Role weights for fair sharing, e.g. ops=2,dev=1; they replace (and are stored over) the registry's weights. Default: the stored weights.")
    var weights: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65_535).contains(port), (0...65_535).contains(httpPort) else {
            throw ValidationError("ports must be between 0 and 65535")
        }
        guard maxAgentPingTimeouts >= 1 else { throw ValidationError("--max-agent-ping-timeouts must be at least 1") }
        guard agentPingTimeout.duration > .zero else { throw ValidationError("--agent-ping-timeout must be positive") }
        guard allocationInterval.duration > .zero else { throw ValidationError("--allocation-interval must be positive") }
        guard agentReregisterTimeout.duration > .zero else {
            throw ValidationError("--agent-reregister-timeout must be positive")
        }
    }

    func run() async throws {
        // Each log line's timestamp asks glibc for the local time, and with TZ unset glibc
        // stats /etc/localtime every time: 10,000 agents re-registering after a failover
        // cost the master's actor as many stats. Naming the zone file reads it once. (Only
        // here: the agent's environment reaches its tasks.)
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
        try bootstrapLogging(level: logLevel)
        let logger = Logger(label: "agora.master")
        var roleWeights: RoleWeights?
        if let weights {
            do {
                roleWeights = try RoleWeights(parsing: weights)
            } catch {
                throw ValidationError("invalid --weights: \(error)")
            }
        }
        let workDirectory = try prepareWorkDirectory(workDir)
        let host = advertisedHost(boundIP: ip, override: advertiseHost)
        let registry: SQLiteRegistry
        do {
            registry = try SQLiteRegistry(workDirectory: workDirectory)
        } catch {
            throw ValidationError("\(error)")
        }

        var configuration = MasterConfiguration(
            runID: Self.runID(), hostname: localHostname(), advertisedAddress: "", version: AgoraVersion.current,
            startedAtUnixSeconds: Date().timeIntervalSince1970, weights: roleWeights)
        configuration.allocationInterval = allocationInterval.duration
        configuration.offerTimeout = offerTimeout?.duration
        configuration.agentPingTimeout = agentPingTimeout.duration
        configuration.maxAgentPingTimeouts = maxAgentPingTimeouts
        configuration.frameworkHeartbeatInterval = frameworkHeartbeatInterval.duration
        configuration.agentReregisterTimeout = agentReregisterTimeout.duration

        let master: MasterServer
        do {
            master = try MasterServer(configuration: configuration, registry: registry, bindAddress: "tcp://\(ip):\(port)",
                                      advertisedHost: host, logger: logger)
        } catch let error as RegistryError {
            throw ValidationError("\(error)")
        } catch {
            throw ValidationError("cannot bind the master to \(ip):\(port): \(error)")
        }
        let advertised = master.advertisedAddress
        let runID = master.runID
        let app = Application(
            router: MasterHTTP.router(snapshots: master.snapshots),
            configuration: .init(address: .hostname(ip, port: httpPort), serverName: "agora-master"),
            onServerRunning: { channel in
                let httpPort = channel.localAddress?.port ?? 0
                logger.info("master \(runID) serving at \(advertised), HTTP port \(httpPort), work dir \(workDirectory)")
                printReadyLine(["master": advertised, "master_http": "http://\(host):\(httpPort)"])
            },
            logger: Logger(label: "agora.master.http"))
        let services = ServiceGroup(services: [master, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        defer { try? registry.close() }
        try await services.run()
    }

    /// A short, unique prefix for the IDs this master run hands out.
    static func runID() -> String {
        let uuid = UUID().uuidString.lowercased()
        return String(uuid.prefix(8))
    }
}
