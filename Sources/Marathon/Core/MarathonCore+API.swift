import Foundation

/// What the REST API asks of the core. Each call either throws before changing
/// anything or starts a deployment (and queues its effects).
extension MarathonCore {
    /// Creates an app; its deployment starts and scales it.
    public mutating func createApp(_ app: AppDefinition, now: Date) throws(MarathonCoreError) -> Deployment {
        let id = app.id.description
        guard apps[id] == nil else { throw .appExists(id) }
        var app = app
        let version = nextVersion(after: nil, now: now)
        app.version = version
        app.versionInfo = VersionInfo(lastScalingAt: version, lastConfigChangeAt: version)
        install(app)
        return startDeployment(appID: id, steps: [.startApplication, .scaleApplication], original: nil, target: app, now: now)
    }

    /// Replaces an app's definition (creating it when missing). A change in
    /// `instances` alone scales; any other change restarts the instances, rolling
    /// within the app's upgrade strategy. `force` cancels a running deployment.
    public mutating func updateApp(_ app: AppDefinition, force: Bool, now: Date) throws(MarathonCoreError) -> Deployment {
        let id = app.id.description
        guard let current = apps[id]?.definition else { return try createApp(app, now: now) }
        try takeLock(appID: id, force: force, now: now)
        var app = app
        let version = nextVersion(after: current.version, now: now)
        app.version = version
        let scaleOnly = app.differsOnlyInScale(from: current)
        let lastConfigChange = scaleOnly ? current.versionInfo?.lastConfigChangeAt ?? version : version
        app.versionInfo = VersionInfo(lastScalingAt: version, lastConfigChangeAt: lastConfigChange)
        install(app)
        if !scaleOnly { apps[id]?.backoff = Backoff() }
        return startDeployment(appID: id, steps: [scaleOnly ? .scaleApplication : .restartApplication], original: current, target: app,
                               now: now)
    }

    /// Restarts every instance of an app (a new configuration version, same definition).
    public mutating func restartApp(_ id: String, force: Bool, now: Date) throws(MarathonCoreError) -> Deployment {
        guard var app = apps[id]?.definition else { throw .appNotFound(id) }
        try takeLock(appID: id, force: force, now: now)
        let original = app
        let version = nextVersion(after: app.version, now: now)
        app.version = version
        app.versionInfo = VersionInfo(lastScalingAt: version, lastConfigChangeAt: version)
        install(app)
        apps[id]?.backoff = Backoff()
        return startDeployment(appID: id, steps: [.restartApplication], original: original, target: app, now: now)
    }

    /// Stops every instance of an app, then forgets it.
    public mutating func deleteApp(_ id: String, force: Bool, now: Date) throws(MarathonCoreError) -> Deployment {
        guard let app = apps[id]?.definition else { throw .appNotFound(id) }
        try takeLock(appID: id, force: force, now: now)
        return startDeployment(appID: id, steps: [.stopApplication], original: app, target: nil, now: now)
    }

    /// Kills tasks. With `scale`, the app's instance count drops by as many (one
    /// deployment per app); otherwise they are replaced. `wipe` also forgets them at
    /// once instead of waiting for the terminal update.
    public mutating func killTasks(_ taskIDs: [String], scale: Bool, wipe: Bool, force: Bool,
                                   now: Date) throws(MarathonCoreError) -> (killed: [Instance], deployments: [Deployment]) {
        var killed: [Instance] = []
        for taskID in taskIDs {
            guard let instance = instances[taskID] else { throw .taskNotFound(taskID) }
            killed.append(instance)
        }
        var deployments: [Deployment] = []
        if scale {
            let byApp = Dictionary(grouping: killed, by: \.appID)
            for (appID, appInstances) in byApp.sorted(by: { $0.key < $1.key }) {
                guard var app = apps[appID]?.definition else { continue }
                try takeLock(appID: appID, force: force, now: now)
                for instance in appInstances { decommission(instance.taskID, now: now) }
                app.instances = max(0, app.instances - appInstances.count)
                let original = apps[appID]?.definition
                let version = nextVersion(after: app.version, now: now)
                app.version = version
                app.versionInfo = VersionInfo(lastScalingAt: version,
                                              lastConfigChangeAt: app.versionInfo?.lastConfigChangeAt ?? version)
                install(app)
                deployments.append(startDeployment(appID: appID, steps: [.scaleApplication], original: original, target: app,
                                                   now: now))
            }
        } else {
            for instance in killed { decommission(instance.taskID, now: now) }
        }
        if wipe {
            for instance in killed {
                instances[instance.taskID] = nil
                changes.removedInstances.insert(instance.taskID)
            }
        }
        converge(now: now)
        return (killed, deployments)
    }

    /// Rolls a running deployment back: a new forced deployment to the app as it was
    /// (removing it if the deployment created it). With `force`, only cancels it.
    public mutating func revertDeployment(_ id: String, force: Bool,
                                          now: Date) throws(MarathonCoreError) -> Deployment? {
        guard let deployment = deployments[id], deployment.isRunning else { throw .deploymentNotFound(id) }
        end(deployment, as: .canceled, reason: force ? "canceled by request" : "rolled back by request", now: now)
        guard !force else {
            converge(now: now, only: deployment.appID)
            return nil
        }
        if let original = deployment.original {
            if apps[deployment.appID] == nil {
                install(original)
                return startDeployment(appID: deployment.appID, steps: [.startApplication, .scaleApplication], original: nil,
                                       target: original, now: now)
            }
            return try updateApp(original, force: true, now: now)
        }
        return try deleteApp(deployment.appID, force: true, now: now)
    }

    /// Ends an app's launch back-off now.
    public mutating func resetDelay(_ id: String, now: Date) throws(MarathonCoreError) {
        guard var record = apps[id], record.waiting > 0 || record.backoff.isDelaying(at: now) else {
            throw .notInQueue(id)
        }
        record.backoff = Backoff()
        apps[id] = record
        changes.apps.insert(id)
        converge(now: now, only: id)
    }

    /// The stored version `version` of an app.
    public func version(of id: String, _ version: String) throws(MarathonCoreError) -> AppDefinition {
        guard apps[id] != nil else { throw .appNotFound(id) }
        guard let found = versions[id]?.first(where: { $0.version?.description == version }) else {
            throw .versionNotFound(appID: id, version: version)
        }
        return found
    }

    // MARK: Internals

    /// Fails with `locked` when the app deploys, unless `force`, which cancels that deployment.
    private mutating func takeLock(appID: String, force: Bool, now: Date) throws(MarathonCoreError) {
        guard let running = runningDeployment(of: appID) else { return }
        guard force else { throw .locked(appID: appID, deploymentIDs: [running.id]) }
        end(running, as: .canceled, reason: "canceled by a forced change", now: now)
    }

    /// Versions are timestamps with millisecond precision; two changes in the same
    /// millisecond still get increasing versions.
    private func nextVersion(after previous: MarathonTimestamp?, now: Date) -> MarathonTimestamp {
        let candidate = MarathonTimestamp(now)
        guard let previous, candidate <= previous else { return candidate }
        return MarathonTimestamp(millisecondsSince1970: previous.millisecondsSince1970 + 1)
    }

    private mutating func install(_ app: AppDefinition) {
        let id = app.id.description
        var record = apps[id] ?? AppRecord(definition: app, spec: app.runSpec)
        record.definition = app
        record.spec = app.runSpec
        apps[id] = record
        changes.apps.insert(id)
        var appVersions = versions[id] ?? []
        appVersions.append(app)
        if appVersions.count > configuration.maxVersions { appVersions.removeFirst(appVersions.count - configuration.maxVersions) }
        versions[id] = appVersions
        changes.versions.append(app)
    }

    private mutating func startDeployment(appID: String, steps: [Deployment.Action], original: AppDefinition?,
                                          target: AppDefinition?, now: Date) -> Deployment {
        var deployment = Deployment(id: UUID().uuidString.lowercased(), appID: appID, steps: steps,
                                    original: original, target: target,
                                    version: (target ?? original)?.version?.description ?? "", startedAt: now)
        // StartApplication only creates the app: done as soon as it exists.
        if steps.first == .startApplication { deployment.currentStep = 2 }
        deployments[deployment.id] = deployment
        changes.deployments.insert(deployment.id)
        outbox.append(.event(.deploymentInfo(deployment)))
        converge(now: now, only: appID)
        return deployments[deployment.id] ?? deployment
    }
}
