import AgoraProto
import Foundation
import Framework
import Logging

/// The app framework as a running service: the pure `MarathonCore` behind an actor,
/// fed by the scheduler driver, the REST API and a clock; every change is written to
/// the store before any effect leaves (a launch is on disk before it is accepted).
public actor MarathonService: Scheduler {
    public struct Options: Sendable {
        public var core = MarathonCore.Configuration()
        /// How often time-driven work runs (deployment timeouts, back-off, kill retries).
        public var tickInterval: Duration = .seconds(1)
        public var masterAddress: String = ""
        public var httpAddress: String = ""
        /// The role the framework subscribes with.
        public var role: String = "*"
        /// The name the framework subscribes with.
        public var frameworkName: String = "marathon"
        public init() {}
    }

    /// The Marathon API version this service speaks (`/v2/info`).
    static let marathonVersion = "1.10.0"

    var options: Options
    var core: MarathonCore
    private let store: MarathonStore
    let events = EventBus()
    private let logger: Logger
    private var driver: SchedulerDriver?
    private var readiness = ReadinessProber()
    let startedAt = Date()

    public init(store: MarathonStore, options: Options, logger: Logger) throws {
        let contents = try store.loadContents()
        self.store = store
        self.options = options
        self.logger = logger
        core = MarathonCore(configuration: options.core, frameworkID: contents.frameworkID, apps: contents.apps,
                            versions: contents.versions, instances: contents.instances,
                            deployments: contents.deployments)
    }

    /// The driver to execute effects with; set once, before it starts.
    public func attach(_ driver: SchedulerDriver) {
        self.driver = driver
    }

    /// Ends the event streams: called at shutdown, before the HTTP server stops.
    public func closeEventStreams() {
        events.closeAll()
    }

    /// Runs the clock until cancelled.
    public func runClock() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.tickInterval)
            core.tick(now: Date())
            await flush()
            await probeReadiness()
        }
    }

    /// Starts readiness probes for running instances of deploying apps with a
    /// readiness check; each answer goes to the core.
    private func probeReadiness() async {
        var due: [ReadinessProber.Probe] = []
        var probed = Set<String>()
        let now = Date()
        for deployment in core.runningDeployments {
            guard let app = core.apps[deployment.appID]?.definition, let check = app.readinessChecks.first else { continue }
            let portIndex = app.portDefinitions.firstIndex { $0.name == check.portName } ?? 0
            for instance in core.instances(of: deployment.appID)
            where instance.isRunning && instance.ready != true && instance.goal == .running {
                probed.insert(instance.taskID)
                guard portIndex < instance.ports.count,
                      readiness.claim(instance.taskID, intervalSeconds: Double(check.intervalSeconds), now: now),
                      let url = URL(string: "\(check.protocol == .https ? "https" : "http")://\(instance.hostname):"
                          + "\(instance.ports[portIndex])\(check.path.hasPrefix("/") ? "" : "/")\(check.path)")
                else { continue }
                due.append(.init(taskID: instance.taskID, url: url, timeoutSeconds: Double(check.timeoutSeconds),
                                 readyStatuses: Set(check.httpStatusCodesForReady)))
            }
        }
        readiness.retain(probed)
        for probe in due {
            Task {
                let ready = await ReadinessProber.run(probe)
                await self.readinessAnswered(probe.taskID, ready: ready)
            }
        }
    }

    private func readinessAnswered(_ taskID: String, ready: Bool) async {
        readiness.finished(taskID)
        core.readiness(taskID: taskID, ready: ready, now: Date())
        await flush()
    }

    // MARK: Scheduler

    public func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {
        logger.info("subscribed as framework \(frameworkID)")
        core.subscribed(frameworkID: frameworkID, now: Date())
        await flush()
    }

    public func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        core.offers(offers, now: Date())
        await flush()
    }

    public func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        core.statusUpdate(status, now: Date())
        await flush()
    }

    public func error(_ driver: SchedulerDriver, message: String) async {
        logger.error("master reported: \(message)")
    }

    // MARK: Effects

    /// Persists the core's changes, then carries out its effects. When the store
    /// cannot be written, launches are turned into declines: nothing runs that a
    /// restart would not know about.
    func flush() async {
        let (effects, changes) = core.drain()
        var persisted = true
        do {
            try store.save(changes, from: core, keepingVersions: core.configuration.maxVersions)
        } catch {
            persisted = false
            logger.critical("\(error); not launching until the store can be written")
        }
        for effect in effects { await execute(effect, persisted: persisted) }
    }

    private func execute(_ effect: MarathonEffect, persisted: Bool) async {
        if case .event(let event) = effect {
            publish(event)
            return
        }
        guard let driver else { return }
        do {
            switch effect {
            case .launch(let offerID, let tasks):
                if persisted {
                    try await driver.launch(offerIDs: [offerID], tasks: tasks)
                } else {
                    try await driver.decline(offerIDs: [offerID], filters: .refuse(seconds: 5))
                }
            case .decline(let offerIDs, let seconds):
                try await driver.decline(offerIDs: offerIDs, filters: .refuse(seconds: seconds))
            case .kill(let taskID, let agentID, let grace):
                var policy: Agora_V1_KillPolicy?
                if let grace {
                    var killPolicy = Agora_V1_KillPolicy()
                    killPolicy.gracePeriod.nanoseconds = Int64(grace * 1_000_000_000)
                    policy = killPolicy
                }
                try await driver.kill(taskID: taskID, agentID: agentID.isEmpty ? nil : agentID, killPolicy: policy)
            case .reconcile(let entries):
                try await driver.reconcile(tasks: entries.map { (taskID: $0.taskID, agentID: Optional($0.agentID)) })
            case .suppress:
                try await driver.suppress()
            case .revive:
                try await driver.revive()
            case .event:
                break
            }
        } catch {
            // Not subscribed right now: the core repeats what matters (kills, launches
            // of still-waiting instances, reconciliation) once subscribed again.
            logger.debug("could not \(effect): \(error)")
        }
    }
}
