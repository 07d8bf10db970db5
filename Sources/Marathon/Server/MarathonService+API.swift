import AgoraProto
import Foundation
import Framework

/// The REST API's view of the service: each call reads or changes the core, persists,
/// carries out the effects, and answers with Marathon's JSON.
extension MarathonService {
    // MARK: Apps

    func appsJSON(id: String?, cmd: String?, label: String?, embed: Set<String>) -> MarathonJSON {
        let selected = core.apps.values.map(\.definition).filter { app in
            if let id, !app.id.description.contains(id) { return false }
            if let cmd, !(app.cmd ?? "").contains(cmd) { return false }
            if let label, !Self.matches(labelSelector: label, app.labels) { return false }
            return true
        }.sorted { $0.id < $1.id }
        return .object(["apps": .array(selected.map { appInfo($0, embed: embed, single: false) })])
    }

    func appJSON(id: PathID, embed: Set<String>) throws(MarathonAPIError) -> MarathonJSON {
        guard let app = core.apps[id.description]?.definition else { throw .appNotFound(id) }
        return .object(["app": appInfo(app, embed: embed, single: true)])
    }

    func createApp(body: Data, force: Bool) async throws(MarathonAPIError) -> (MarathonJSON, String) {
        let app = try AppDefinition.decode(body: body)
        let deployment = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.createApp(app, now: Date())
        }
        publishAPIPost(uri: "/v2/apps", appID: app.id.description)
        await flush()
        guard let created = core.apps[app.id.description]?.definition else { throw .appNotFound(app.id) }
        return (appInfo(created, embed: [], single: true), deployment.id)
    }

    /// PUT/PATCH `/v2/apps/{id}`: partial by default; a missing app is created (201).
    func updateApp(id: PathID, body: Data, force: Bool, partial: Bool) async throws(MarathonAPIError) -> (MarathonJSON, Bool) {
        let update = try AppUpdate.decode(body: body)
        if let given = update.id, given != id {
            throw .notValid([.init(path: "/id", "must be \(id) (the id in the URL) or be left out")])
        }
        let (deployment, created) = try await apply(update, to: id, force: force, partial: partial)
        return (Self.deploymentResult(deployment), created)
    }

    /// PUT/PATCH `/v2/apps`: several updates, one deployment each.
    func updateApps(body: Data, force: Bool, partial: Bool) async throws(MarathonAPIError) -> MarathonJSON {
        let updates = try AppUpdate.decodeList(body: body)
        var last: Deployment?
        for update in updates {
            guard let id = update.id else { continue }
            last = try await apply(update, to: id, force: force, partial: partial).0
        }
        guard let last else { throw .badRequest("the list of apps is empty") }
        return Self.deploymentResult(last)
    }

    private func apply(_ update: AppUpdate, to id: PathID, force: Bool,
                       partial: Bool) async throws(MarathonAPIError) -> (Deployment, Bool) {
        let current = core.apps[id.description]?.definition
        let target: AppDefinition
        if update.isRollback, let version = update.rollbackVersion {
            target = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
                try core.version(of: id.description, version.description)
            }
        } else if let current, partial {
            target = try current.applying(update)
        } else {
            target = try AppDefinition(creatingFrom: update, id: id)
        }
        let deployment = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.updateApp(target, force: force, now: Date())
        }
        publishAPIPost(uri: "/v2/apps\(id)", appID: id.description)
        await flush()
        return (deployment, current == nil)
    }

    func restartApp(id: PathID, force: Bool) async throws(MarathonAPIError) -> MarathonJSON {
        let deployment = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.restartApp(id.description, force: force, now: Date())
        }
        await flush()
        return Self.deploymentResult(deployment)
    }

    func deleteApp(id: PathID, force: Bool) async throws(MarathonAPIError) -> MarathonJSON {
        let deployment = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.deleteApp(id.description, force: force, now: Date())
        }
        await flush()
        return Self.deploymentResult(deployment)
    }

    func versionsJSON(appID: PathID) throws(MarathonAPIError) -> MarathonJSON {
        guard core.apps[appID.description] != nil else { throw .appNotFound(appID) }
        let versions = (core.versions[appID.description] ?? []).compactMap(\.version).sorted(by: >)
        return .object(["versions": .array(versions.map { .string($0.description) })])
    }

    func versionJSON(appID: PathID, version: String) throws(MarathonAPIError) -> MarathonJSON {
        try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.version(of: appID.description, version)
        }.json
    }

    // MARK: Tasks

    func tasksJSON(appID: PathID?, statuses: Set<String>) -> MarathonJSON {
        let wanted = Set(statuses.map { $0.lowercased() })
        let selected = core.instances.values.filter { instance in
            if let appID, instance.appID != appID.description { return false }
            if wanted.isEmpty { return true }
            return (wanted.contains("running") && instance.isRunning)
                || (wanted.contains("staging") && [.taskStaging, .taskStarting].contains(instance.state))
        }.sorted { $0.stagedAt < $1.stagedAt }
        return .object(["tasks": .array(selected.map(taskJSON))])
    }

    func appTasksJSON(appID: PathID) throws(MarathonAPIError) -> MarathonJSON {
        guard core.apps[appID.description] != nil else { throw .appNotFound(appID) }
        return tasksJSON(appID: appID, statuses: [])
    }

    /// DELETE `/v2/apps/{id}/tasks[/{taskId}]` and POST `/v2/tasks/delete`.
    func killTasks(appID: PathID?, taskIDs: [String]?, host: String?, scale: Bool, wipe: Bool, force: Bool,
                   single: Bool = false) async throws(MarathonAPIError) -> MarathonJSON {
        if scale, wipe { throw .badRequest("You cannot use scale and wipe at the same time.") }
        if let appID, core.apps[appID.description] == nil { throw .appNotFound(appID) }
        var ids = taskIDs ?? []
        if taskIDs == nil, let appID {
            ids = core.instances(of: appID.description).filter { host == nil || $0.hostname == host }.map(\.taskID)
        }
        if let appID {
            for id in ids where core.instances[id].map({ $0.appID != appID.description }) ?? false {
                throw .taskNotFound(id)
            }
        }
        if appID == nil {
            for id in ids where MarathonTaskID(parsing: id) == nil {
                throw .badRequest("Invalid task id '\(id)'.")
            }
        }
        let (killed, deployments) = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.killTasks(ids, scale: scale, wipe: wipe, force: force, now: Date())
        }
        await flush()
        if scale, let deployment = deployments.last { return Self.deploymentResult(deployment) }
        if single, let task = killed.first { return .object(["task": taskJSON(task)]) }
        return .object(["tasks": .array(killed.map(taskJSON))])
    }

    // MARK: Deployments and queue

    func deploymentsJSON() -> MarathonJSON {
        Self.encoded(core.runningDeployments.map(deploymentJSON))
    }

    /// Rollback (a new forced deployment), or with `force` cancel only (nil → 202).
    func deleteDeployment(id: String, force: Bool) async throws(MarathonAPIError) -> MarathonJSON? {
        let reverted = try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.revertDeployment(id, force: force, now: Date())
        }
        await flush()
        return reverted.map(Self.deploymentResult)
    }

    func queueJSON() -> MarathonJSON {
        let now = Date()
        let waiting = core.apps.values.filter { $0.waiting > 0 }.sorted { $0.definition.id < $1.definition.id }
        let items = waiting.map { record in
            let stats = record.offers
            let summary = ProcessedOffersSummaryJSON.funnel(processedOffers: stats.processedLastRound,
                                                            firstReasons: stats.firstReasonsLastRound)
            let timeLeft = record.backoff.until.map { max(0, $0.timeIntervalSince(now)) } ?? 0
            return QueueItemJSON(
                count: record.waiting,
                delay: QueueDelayJSON(timeLeftSeconds: Int(timeLeft.rounded(.up)), overdue: !record.backoff.isDelaying(at: now)),
                since: MarathonTimestamp(record.waitingSince ?? now), app: record.definition,
                processedOffersSummary: ProcessedOffersSummaryJSON(
                    processedOffersCount: stats.processedOffers, unusedOffersCount: stats.unusedOffers,
                    lastUnusedOfferAt: stats.lastUnusedOfferAt.map(MarathonTimestamp.init),
                    lastUsedOfferAt: stats.lastUsedOfferAt.map(MarathonTimestamp.init),
                    rejectSummaryLastOffers: summary, rejectSummaryLaunchAttempt: summary))
        }
        return .object(["queue": Self.encoded(items)])
    }

    func resetDelay(appID: PathID) async throws(MarathonAPIError) {
        try mapped { (core: inout MarathonCore) throws(MarathonCoreError) in
            try core.resetDelay(appID.description, now: Date())
        }
        await flush()
    }

    // MARK: Info

    func infoJSON() -> MarathonJSON {
        Self.encoded(InfoJSON(
            version: Self.marathonVersion, buildref: "agora", elected: true, leader: leaderAddress,
            frameworkId: core.frameworkID,
            marathonConfig: MarathonConfigJSON(
                master: options.masterAddress, frameworkName: options.frameworkName,
                hostname: ProcessInfo.processInfo.hostName, failoverTimeout: 604_800, checkpoint: true, ha: false,
                mesosRole: options.role, taskLaunchTimeout: 300_000,
                reconciliationInterval: Int(core.configuration.reconcileIntervalSeconds * 1_000),
                declineOfferDuration: Int(core.configuration.idleRefuseSeconds * 1_000)),
            zookeeperConfig: ZooKeeperConfigJSON(zkMaxVersions: core.configuration.maxVersions),
            httpConfig: HTTPConfigJSON(httpPort: URL(string: options.httpAddress)?.port ?? 0)))
    }

    func leaderJSON() -> MarathonJSON {
        .object(["leader": .string(leaderAddress)])
    }

    private var leaderAddress: String {
        guard let url = URL(string: options.httpAddress), let host = url.host else { return options.httpAddress }
        return "\(host):\(url.port ?? 80)"
    }

    func metricsJSON() -> MarathonJSON {
        let counts = core.apps.keys.map { core.counts(of: $0) }
        func gauge(_ value: Int) -> MarathonJSON { .object(["value": .number(Double(value))]) }
        return .object([
            "version": .string("4.0.0"),
            "gauges": .object([
                "marathon.apps.active.gauge": gauge(core.apps.count),
                "marathon.deployments.active.gauge": gauge(core.runningDeployments.count),
                "marathon.instances.running.gauge": gauge(counts.map(\.running).reduce(0, +)),
                "marathon.instances.staged.gauge": gauge(counts.map(\.staged).reduce(0, +)),
                "marathon.instances.launch-overdue.gauge": gauge(core.apps.values.map(\.waiting).reduce(0, +)),
                "marathon.http.event-streams.active.gauge": gauge(events.subscriberCount),
                "marathon.uptime.gauge": gauge(Int(Date().timeIntervalSince(startedAt))),
            ]),
            "counters": .object([:]),
            "histograms": .object([:]),
            "meters": .object([:]),
            "timers": .object([:]),
        ])
    }

    // MARK: Agora endpoints

    /// A deployment's progress, kept after it ends (for the CLI's progress bar).
    func deploymentStatusJSON(id: String) throws(MarathonAPIError) -> MarathonJSON {
        guard let deployment = core.deployments[id] else { throw .deploymentNotFound(id) }
        let counts = core.counts(of: deployment.appID)
        let spec = core.apps[deployment.appID]?.spec
        let now = Date()
        let healthy = core.instances(of: deployment.appID).filter { instance in
            guard let spec, instance.goal == .running else { return false }
            return core.countsAsHealthy(instance, spec: spec, now: now)
        }.count
        return .compactObject([
            "id": .string(deployment.id),
            "appId": .string(deployment.appID),
            "action": .string(deployment.currentAction.rawValue),
            "status": .string(deployment.status.rawValue),
            "reason": deployment.reason.map(MarathonJSON.string),
            "target": .number(Double(deployment.target?.instances ?? 0)),
            "staged": .number(Double(counts.staged)),
            "running": .number(Double(counts.running)),
            "healthy": .number(Double(healthy)),
            "waiting": .number(Double(core.apps[deployment.appID]?.waiting ?? 0)),
            "startedAt": .string(MarathonTimestamp(deployment.startedAt).description),
            "finishedAt": deployment.finishedAt.map { .string(MarathonTimestamp($0).description) },
        ])
    }

    /// Bytes of a task's stdout or stderr from `offset`, read from its agent, and the task's state.
    func taskFile(taskID: String, file: String, offset: Int) async throws(MarathonAPIError) -> (Data, String) {
        guard ["stdout", "stderr"].contains(file) else {
            throw MarathonAPIError(status: 404, message: "unknown file \(file): use stdout or stderr")
        }
        // A running instance, or one that ended lately (its sandbox is kept for a while).
        guard let agentHTTP = core.instances[taskID]?.agentHTTP ?? core.endedInstances[taskID]?.agentHTTP else {
            throw .taskNotFound(taskID)
        }
        guard let frameworkID = core.frameworkID, !agentHTTP.isEmpty else {
            throw MarathonAPIError(status: 503, message: "the agent of task \(taskID) is not known yet")
        }
        do {
            let data = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID,
                                                taskID: taskID, file: file, offset: offset)
            let state = core.instances[taskID]?.state ?? core.endedInstances[taskID]?.state ?? .taskFinished
            return (data, state.name)
        } catch {
            throw MarathonAPIError(status: 502, message: "cannot read \(file) of \(taskID) from its agent: \(error)")
        }
    }

    /// Where the REST API serves, once it does (for `/v2/info` and `/v2/leader`).
    public func setHTTPAddress(_ address: String) {
        options.httpAddress = address
    }

    // MARK: JSON

    func appInfo(_ app: AppDefinition, embed: Set<String>, single: Bool) -> MarathonJSON {
        let id = app.id.description
        let counts = core.counts(of: id)
        let wantsTasks = single || embed.contains("apps.tasks") || embed.contains("app.tasks")
        let wantsFailure = single || embed.contains("apps.lastTaskFailure") || embed.contains("app.lastTaskFailure")
        let failure = wantsFailure ? core.apps[id]?.lastTaskFailure.map { failure in
            TaskFailureJSON(appId: app.id, host: failure.host, message: failure.message, state: failure.state,
                            taskId: failure.taskID, slaveId: failure.slaveID,
                            timestamp: MarathonTimestamp(failure.timestamp), version: Self.version(failure.version))
        } : nil
        return Self.encoded(AppInfo(
            app: app, tasksStaged: counts.staged, tasksRunning: counts.running, tasksHealthy: counts.healthy,
            tasksUnhealthy: counts.unhealthy,
            deployments: core.runningDeployment(of: id).map { [AppInfo.DeploymentRef(id: $0.id)] } ?? [],
            tasks: wantsTasks ? core.instances(of: id).map(task) : nil, lastTaskFailure: failure))
    }

    func taskJSON(_ instance: Instance) -> MarathonJSON {
        Self.encoded(task(instance))
    }

    func task(_ instance: Instance) -> TaskJSON {
        let app = core.apps[instance.appID]?.definition
        let health: [HealthCheckResultJSON] = instance.health.map { health in
            [HealthCheckResultJSON(
                alive: health.alive, consecutiveFailures: health.consecutiveFailures,
                firstSuccess: health.firstSuccess.map(MarathonTimestamp.init),
                lastSuccess: health.lastSuccess.map(MarathonTimestamp.init),
                lastFailure: health.lastFailure.map(MarathonTimestamp.init),
                lastFailureCause: health.lastFailureCause,
                instanceId: MarathonTaskID(parsing: instance.taskID)?.instanceID)]
        } ?? []
        return TaskJSON(
            id: instance.taskID, appId: PathID(instance.appID), host: instance.hostname,
            ports: instance.ports.map { Int($0) }, servicePorts: app?.portDefinitions.map(\.port) ?? [],
            slaveId: instance.agentID, state: instance.state.name,
            stagedAt: MarathonTimestamp(instance.stagedAt), startedAt: instance.startedAt.map(MarathonTimestamp.init),
            version: MarathonTimestamp(parsing: instance.appVersion),
            ipAddresses: [], healthCheckResults: health, role: options.role)
    }

    func deploymentJSON(_ deployment: Deployment) -> DeploymentJSON {
        let app = PathID(deployment.appID)
        return DeploymentJSON(
            id: deployment.id, version: Self.version(deployment.version), affectedApps: [app],
            steps: Self.steps(deployment),
            currentActions: [DeploymentCurrentActionJSON(action: deployment.currentAction, app: app)],
            currentStep: deployment.currentStep)
    }

    static func deploymentResult(_ deployment: Deployment) -> MarathonJSON {
        encoded(DeploymentResult(version: version(deployment.version), deploymentId: deployment.id))
    }

    /// A response value as JSON; encoding Agora's own response types cannot fail.
    static func encoded<Value: Encodable>(_ value: Value) -> MarathonJSON {
        (try? MarathonJSON.from(value)) ?? .null
    }

    /// Runs a core call, mapping its errors to Marathon's answers.
    private func mapped<T>(_ body: (inout MarathonCore) throws(MarathonCoreError) -> T) throws(MarathonAPIError) -> T {
        do throws(MarathonCoreError) {
            return try body(&core)
        } catch {
            switch error {
            case .appNotFound(let id): throw .appNotFound(PathID(id))
            case .appExists(let id): throw .appExists(PathID(id))
            case .locked(_, let ids): throw .appLocked(deploymentIDs: ids)
            case .taskNotFound(let id): throw .taskNotFound(id)
            case .deploymentNotFound(let id): throw .deploymentNotFound(id)
            case .versionNotFound(let id, let version):
                throw MarathonAPIError(status: 404, message: "App '\(id)' does not exist in version \(version)")
            case .notInQueue(let id): throw .notInQueue(PathID(id))
            }
        }
    }

    /// Marathon's label selector subset: `key`, `key==value`, `key!=value`, comma-separated (all must hold).
    static func matches(labelSelector: String, _ labels: [String: String]) -> Bool {
        labelSelector.split(separator: ",").allSatisfy { term in
            let term = term.trimmingCharacters(in: .whitespaces)
            if let range = term.range(of: "!=") {
                return labels[String(term[..<range.lowerBound])] != String(term[range.upperBound...])
            }
            if let range = term.range(of: "==") ?? term.range(of: "=") {
                return labels[String(term[..<range.lowerBound])] == String(term[range.upperBound...])
            }
            return labels[term] != nil
        }
    }
}
