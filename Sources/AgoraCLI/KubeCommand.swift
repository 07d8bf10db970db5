import ArgumentParser
import Foundation
import Framework
import Hummingbird
import Kubernetes
import Logging
import ServiceLifecycle

/// `agora kube`: the Kubernetes adapter, a framework serving a subset of the
/// Kubernetes API to kubectl and the Python client.
struct KubeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube",
        abstract: "Run the Kubernetes adapter: serve the Kubernetes API and run pods and deployments on Agora.",
        discussion: """
            Prints one JSON line with "ready": true and "kube" (the API's base URL) once it \
            serves. Objects are kept in kube.sqlite in --work-dir, with the framework ID, so \
            a restarted adapter finds its pods and tasks again. Point kubectl at it with \
            `kubectl --server http://HOST:PORT`. Containers run their command on the agent's \
            host; images are recorded but not run yet.
            """
    )

    @Option(help: "The master, HOST:PORT or tcp://HOST:PORT.")
    var master: String

    @Option(help: "Directory for the adapter's state (kube.sqlite, framework-id).")
    var workDir: String

    @Option(help: "Port of the Kubernetes API, plain HTTP (0 picks a free one).")
    var apiPort = 6443

    @Option(help: "Address the API listens on (0.0.0.0 for all interfaces).")
    var listenHost = "127.0.0.1"

    @Option(help: "User the pods' commands run as on the agents.")
    var user = "root"

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65_535).contains(apiPort) else { throw ValidationError("--api-port must be between 0 and 65535") }
        _ = try masterEndpoint(master)
    }

    func run() async throws {
        try bootstrapLogging(level: logLevel)
        let logger = Logger(label: "agora.kube")
        let workDirectory = try prepareWorkDirectory(workDir)
        let masterAddress = try masterEndpoint(master)
        let store: ObjectStore
        do {
            store = try ObjectStore(path: workDirectory + "/kube.sqlite")
        } catch {
            throw ValidationError("cannot open \(workDirectory)/kube.sqlite: \(error)")
        }
        let server = KubeServer(store: store, version: AgoraVersion.current, logger: logger)
        let driver = SchedulerDriver(master: masterAddress, frameworkInfo: KubeServer.frameworkInfo(user: user),
                                     scheduler: server, idStore: FileFrameworkIDStore(path: workDirectory + "/framework-id"),
                                     logger: Logger(label: "agora.kube.driver"))
        await server.attach(driver)
        let host = advertisedHost(boundIP: listenHost, override: nil)
        let app = Application(
            router: KubeHTTP.router(store: store, logs: server),
            configuration: .init(address: .hostname(listenHost, port: apiPort), serverName: "agora-kube"),
            onServerRunning: { channel in
                let url = "http://\(host):\(channel.localAddress?.port ?? 0)"
                logger.info("Kubernetes API at \(url), work dir \(workDirectory)")
                printReadyLine(["kube": url, "kube_api": url, "master": masterAddress])
            },
            logger: Logger(label: "agora.kube.http"))
        // Shut down in reverse order: the adapter first (it ends open watches), then HTTP.
        let services = ServiceGroup(services: [app, server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await services.run()
    }
}
