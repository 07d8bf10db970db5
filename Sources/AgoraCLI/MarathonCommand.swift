import AgoraProto
import ArgumentParser
import Foundation
import Framework
import Hummingbird
import Logging
import Marathon
import ServiceLifecycle

/// `agora marathon`: the app framework, with its Marathon v2-compatible REST API.
struct MarathonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marathon",
        abstract: "Run the app framework: keep long-running apps running, with a Marathon v2 REST API.",
        discussion: """
            Prints one JSON line with "ready": true and its REST endpoint once it serves. \
            Its state (apps and their versions, instances, deployments, the framework \
            ID) is kept in marathon.sqlite in --work-dir; restarted on the same work dir \
            it resumes as the same framework and reconciles its tasks with the master.
            """
    )

    @Option(help: "The master's address, e.g. 127.0.0.1:5050 or tcp://127.0.0.1:5050.")
    var master: String

    @Option(help: "Directory for the framework's state.")
    var workDir: String

    @Option(help: "IP address the REST API binds (0.0.0.0 for all interfaces).")
    var ip = "0.0.0.0"

    @Option(help: "Port of the REST API (0 picks a free one).")
    var httpPort = 8080

    @Option(help: "Host name or IP that clients use to reach the REST API.")
    var advertiseHost: String?

    @Option(help: "Name the framework registers under.")
    var frameworkName = "marathon"

    @Option(help: "Role the framework's tasks run as.")
    var role = "*"

    @Option(help: "A deployment that makes no progress for this long fails, e.g. 10m or 90s.")
    var deploymentTimeout = DurationArgument(.seconds(600))

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65_535).contains(httpPort) else { throw ValidationError("--http-port must be between 0 and 65535") }
        guard deploymentTimeout.duration > .zero else { throw ValidationError("--deployment-timeout must be positive") }
    }

    func run() async throws {
        try bootstrapLogging(level: logLevel)
        let logger = Logger(label: "agora.marathon")
        let workDirectory = try prepareWorkDirectory(workDir)
        let host = advertisedHost(boundIP: ip, override: advertiseHost)
        let masterAddress = master.hasPrefix("tcp://") ? master : "tcp://\(master)"
        let store: MarathonStore
        do {
            store = try MarathonStore(workDirectory: workDirectory)
        } catch {
            throw ValidationError("\(error)")
        }

        var options = MarathonService.Options()
        options.core.deploymentTimeoutSeconds = Double(deploymentTimeout.duration.components.seconds)
        options.masterAddress = masterAddress
        options.role = role
        options.frameworkName = frameworkName
        let service: MarathonService
        do {
            service = try MarathonService(store: store, options: options, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }

        var info = Agora_V1_FrameworkInfo()
        info.name = frameworkName
        info.user = ProcessInfo.processInfo.environment["USER"] ?? "root"
        info.roles = [role]
        info.failoverTimeout = 7 * 24 * 3_600  // a restarted marathon picks up its tasks
        info.checkpoint = true
        var partitionAware = Agora_V1_FrameworkInfo.Capability()
        partitionAware.type = .partitionAware
        info.capabilities = [partitionAware]
        let driver = SchedulerDriver(master: masterAddress, frameworkInfo: info, scheduler: service, idStore: store,
                                     logger: Logger(label: "agora.marathon.driver"))
        await service.attach(driver)

        let app = Application(
            router: MarathonHTTP.router(service: service),
            configuration: .init(address: .hostname(ip, port: httpPort), serverName: "agora-marathon"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                await service.setHTTPAddress("http://\(host):\(port)")
                logger.info("marathon serving at http://\(host):\(port), master \(masterAddress), work dir \(workDirectory)")
                printReadyLine(["marathon": "http://\(host):\(port)"])
            },
            logger: Logger(label: "agora.marathon.http"))
        do {
            try await driver.start()
        } catch {
            throw ValidationError("cannot start the framework driver: \(error)")
        }
        // Shut down in reverse order: the scheduler first (it ends open event streams),
        // then HTTP.
        let services = ServiceGroup(services: [app, MarathonRunner(service: service, driver: driver)],
                                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await services.run()
    }
}

/// The app framework's clock, until graceful shutdown; then the event streams end and
/// the driver stops with failover (tasks keep running for the next `agora marathon`).
private struct MarathonRunner: Service {
    let service: MarathonService
    let driver: SchedulerDriver

    func run() async throws {
        let clock = Task { await service.runClock() }
        try? await gracefulShutdown()
        clock.cancel()
        await service.closeEventStreams()
        await driver.stop(failover: true)
    }
}
