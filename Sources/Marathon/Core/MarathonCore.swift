import AgoraProto
import Foundation
import Framework

/// What the core asks its shell to do; the shell executes them in order, after it has
/// persisted `MarathonCore.Changes` (so a launch is always on disk before it happens).
public enum MarathonEffect: Sendable {
    case launch(offerID: String, tasks: [Agora_V1_TaskInfo])
    case decline(offerIDs: [String], refuseSeconds: Double)
    case kill(taskID: String, agentID: String, gracePeriodSeconds: Double?)
    /// Explicit reconciliation of these tasks, or implicit when empty.
    case reconcile([ReconcileEntry])
    case suppress
    case revive
    case event(CoreEvent)
}

public struct ReconcileEntry: Hashable, Sendable {
    public let taskID: String
    public let agentID: String
}

/// What happened, for the event stream.
public enum CoreEvent: Sendable {
    case statusUpdate(Instance, message: String?)
    case deploymentInfo(Deployment)
    case deploymentSuccess(Deployment)
    case deploymentFailed(Deployment)
    case deploymentStepSuccess(Deployment)
    case healthChanged(Instance, alive: Bool)
    case unhealthyKill(Instance, reason: String)
    case appTerminated(appID: String)
}

/// Why an API request cannot be carried out; the HTTP layer maps these to Marathon's codes.
public enum MarathonCoreError: Error, Equatable, Sendable {
    case appNotFound(String)
    case appExists(String)
    case locked(appID: String, deploymentIDs: [String])
    case taskNotFound(String)
    case deploymentNotFound(String)
    case versionNotFound(appID: String, version: String)
    case notInQueue(String)
}

/// Per app, how offers fared for it since it last waited: Marathon's `/v2/queue` summary.
public struct OfferStatistics: Hashable, Sendable {
    public var processedOffers = 0
    public var unusedOffers = 0
    public var lastUnusedOfferAt: Date?
    public var lastUsedOfferAt: Date?
    /// For each offer of the last round the app could not use, the first reason it
    /// failed, in Marathon's funnel order.
    public var firstReasonsLastRound: [OfferRejectionReason] = []
    /// Offers looked at in the last round.
    public var processedLastRound = 0
}

/// The app framework's brain: apps, instances, deployments and the launch queue.
/// Pure: every input carries the current time, nothing here does I/O. Each mutating
/// call queues effects and records changes; the shell drains both with `drain()`.
public struct MarathonCore: Sendable {
    public struct Configuration: Sendable {
        /// A deployment that makes no progress for this long fails.
        public var deploymentTimeoutSeconds: Double = 600
        /// Unused offers are refused for this long when nothing waits…
        public var idleRefuseSeconds: Double = 120
        /// …and for this long when instances wait but did not fit.
        public var waitingRefuseSeconds: Double = 5
        /// How often every task is reconciled with the master.
        public var reconcileIntervalSeconds: Double = 600
        /// A kill not answered by a terminal update is repeated after this long.
        public var killRetrySeconds: Double = 30
        /// Versions kept per app.
        public var maxVersions = 50
        /// Without health or readiness checks, a new instance counts as healthy for a
        /// deployment once it has been running this long: a command that exits at
        /// once must not make its deployment succeed.
        public var minimumRunningSeconds: Double = 2
        /// Ended deployments stay visible (`/agora/v1/deployments/{id}`) this long.
        public var endedDeploymentRetentionSeconds: Double = 3_600

        public init() {}
    }

    /// What changed since the last `drain()`, for the store.
    public struct Changes: Sendable {
        public var apps: Set<String> = []
        public var removedApps: Set<String> = []
        public var versions: [AppDefinition] = []
        public var instances: Set<String> = []
        public var removedInstances: Set<String> = []
        public var deployments: Set<String> = []
        public var removedDeployments: Set<String> = []

        public var isEmpty: Bool {
            apps.isEmpty && removedApps.isEmpty && versions.isEmpty && instances.isEmpty
                && removedInstances.isEmpty && deployments.isEmpty && removedDeployments.isEmpty
        }
    }

    public struct AppRecord: Sendable {
        public var definition: AppDefinition
        public var spec: RunSpec
        public var backoff = Backoff()
        public var lastTaskFailure: TaskFailure?
        /// Instances waiting to be launched, as of the last convergence.
        public var waiting = 0
        public var waitingSince: Date?
        public var offers = OfferStatistics()
    }

    /// The last failed task of an app, for `lastTaskFailure`.
    public struct TaskFailure: Codable, Hashable, Sendable {
        public var taskID: String
        public var appID: String
        public var host: String
        public var slaveID: String
        public var state: String
        public var message: String
        public var timestamp: Date
        public var version: String
    }

    /// An instance that ended: where it ran, so that its files can still be read.
    public struct EndedInstance: Hashable, Sendable {
        public var appID: String
        public var agentHTTP: String
        public var state: Agora_V1_TaskState
    }

    public let configuration: Configuration
    /// The latest `endedInstancesKept` ended instances by task ID (not persisted).
    public private(set) var endedInstances: [String: EndedInstance] = [:]
    private var endedOrder: [String] = []
    /// How many ended instances `endedInstances` keeps.
    public static let endedInstancesKept = 1_000
    public internal(set) var frameworkID: String?
    public internal(set) var apps: [String: AppRecord] = [:]
    /// Every version of every app, oldest first.
    public internal(set) var versions: [String: [AppDefinition]] = [:]
    public internal(set) var instances: [String: Instance] = [:]
    public internal(set) var deployments: [String: Deployment] = [:]
    /// Where each agent seen in an offer is, for constraints on existing instances.
    private var agentLocations: [String: AgentLocation] = [:]
    private var suppressed = false
    private var lastReconcileAt: Date?
    var outbox: [MarathonEffect] = []
    var changes = Changes()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Rebuilds the core from the store after a restart; call `subscribed` next.
    public init(configuration: Configuration, frameworkID: String?, apps: [AppDefinition],
                versions: [AppDefinition], instances: [Instance], deployments: [Deployment]) {
        self.configuration = configuration
        self.frameworkID = frameworkID
        for app in apps {
            self.apps[app.id.description] = AppRecord(definition: app, spec: app.runSpec)
        }
        for version in versions { self.versions[version.id.description, default: []].append(version) }
        for key in self.versions.keys { self.versions[key]?.sort { ($0.version?.millisecondsSince1970 ?? 0) < ($1.version?.millisecondsSince1970 ?? 0) } }
        for instance in instances { self.instances[instance.taskID] = instance }
        for deployment in deployments { self.deployments[deployment.id] = deployment }
    }

    /// The effects queued and the changes made since the last call.
    public mutating func drain() -> (effects: [MarathonEffect], changes: Changes) {
        defer {
            outbox = []
            changes = Changes()
        }
        return (outbox, changes)
    }

    // MARK: Queries

    public func instances(of appID: String) -> [Instance] {
        instances.values.filter { $0.appID == appID }.sorted { $0.stagedAt < $1.stagedAt }
    }

    public func runningDeployment(of appID: String) -> Deployment? {
        deployments.values.first { $0.appID == appID && $0.isRunning }
    }

    public var runningDeployments: [Deployment] {
        deployments.values.filter(\.isRunning).sorted { $0.startedAt < $1.startedAt }
    }

    /// Counts for `tasksStaged`, `tasksRunning`, `tasksHealthy`, `tasksUnhealthy`.
    public func counts(of appID: String) -> (staged: Int, running: Int, healthy: Int, unhealthy: Int) {
        var result = (staged: 0, running: 0, healthy: 0, unhealthy: 0)
        for instance in instances.values where instance.appID == appID && !instance.isTerminal {
            if instance.isRunning {
                result.running += 1
            } else if !instance.isUnreachable, instance.goal == .running {
                result.staged += 1
            }
            if let health = instance.health, instance.isRunning {
                if health.alive { result.healthy += 1 } else { result.unhealthy += 1 }
            }
        }
        return result
    }

    // MARK: Framework events

    /// The master accepted the subscription: reconcile everything known, then converge.
    public mutating func subscribed(frameworkID: String, now: Date) {
        if self.frameworkID != frameworkID {
            self.frameworkID = frameworkID
        }
        reconcile(now: now)
        suppressed = false
        converge(now: now)
    }

    /// Places waiting instances on `offers`, declines what is left.
    public mutating func offers(_ offers: [Agora_V1_Offer], now: Date) {
        var usable: [OfferResources] = []
        var unusable: [String] = []
        for offer in offers {
            if let resources = try? OfferResources(offer) {
                usable.append(resources)
                agentLocations[offer.agentID.value] = AgentLocation(resources)
            } else {
                unusable.append(offer.id.value)
            }
        }
        let httpByAgent = Dictionary(offers.map { ($0.agentID.value, $0.url.path) }, uniquingKeysWith: { a, _ in a })
        var tasksByOffer: [String: [Agora_V1_TaskInfo]] = [:]

        for appID in apps.keys.sorted() {
            guard var record = apps[appID], record.waiting > 0, !record.backoff.isDelaying(at: now) else { continue }
            let requests = Array(repeating: record.spec.request, count: record.waiting)
            let existing = instances(of: appID).filter { !$0.isTerminal && $0.goal == .running }
                .compactMap { agentLocations[$0.agentID] ?? AgentLocation(hostname: $0.hostname) }
            let result = OfferPacker.place(requests: requests, offers: usable, existing: existing)
            usable = result.offers
            record.offers.processedOffers += offers.count
            record.offers.processedLastRound = offers.count
            for assignment in result.assignments {
                let taskID = MarathonTaskID(appID: PathID(appID), uuid: UUID().uuidString.lowercased()).description
                var instance = Instance(taskID: taskID, appID: appID, appVersion: record.spec.version,
                                        configVersion: record.spec.configVersion, agentID: assignment.agentID,
                                        hostname: assignment.hostname,
                                        agentHTTP: httpByAgent[assignment.agentID] ?? "",
                                        ports: assignment.granted.ports, stagedAt: now)
                instance.message = nil
                instances[taskID] = instance
                changes.instances.insert(taskID)
                tasksByOffer[assignment.offerID, default: []].append(
                    TaskBuilder.taskInfo(app: record.definition, taskID: taskID, agentID: assignment.agentID,
                                         hostname: assignment.hostname, granted: assignment.granted))
                record.offers.lastUsedOfferAt = now
            }
            record.waiting -= result.assignments.count
            if result.unplaced.isEmpty {
                record.offers.firstReasonsLastRound = []
            } else if let diagnosis = result.unplaced.first {
                record.offers.unusedOffers += offers.count
                record.offers.lastUnusedOfferAt = now
                record.offers.firstReasonsLastRound = diagnosis.offers.compactMap { offer in
                    let reasons = Set(offer.rejections.map(OfferRejectionReason.init))
                    return OfferRejectionReason.allCases.first(where: reasons.contains)
                }
            }
            if record.waiting == 0 { record.waitingSince = nil }
            apps[appID] = record
        }

        for (offerID, tasks) in tasksByOffer.sorted(by: { $0.key < $1.key }) {
            outbox.append(.launch(offerID: offerID, tasks: tasks))
        }
        let unused = usable.map(\.offerID).filter { tasksByOffer[$0] == nil } + unusable
        if !unused.isEmpty {
            let stillWaiting = apps.values.contains { $0.waiting > 0 }
            outbox.append(.decline(offerIDs: unused,
                                   refuseSeconds: stillWaiting ? configuration.waitingRefuseSeconds
                                       : configuration.idleRefuseSeconds))
        }
        updateSuppression()
    }

    /// A task changed state.
    public mutating func statusUpdate(_ status: Agora_V1_TaskStatus, now: Date) {
        let taskID = status.taskID.value
        guard var instance = instances[taskID] else {
            // A task we do not know (launched before a crash that lost it, or by an
            // earlier incarnation): it has no place here.
            if !status.state.isTerminal, MarathonTaskID(parsing: taskID) != nil {
                outbox.append(.kill(taskID: taskID, agentID: status.agentID.value, gracePeriodSeconds: nil))
            }
            return
        }
        let previous = instance
        instance.state = status.state
        if status.hasMessage { instance.message = status.message }
        if status.state == .taskRunning, instance.startedAt == nil { instance.startedAt = now }
        instance.unreachableSince = status.state == .taskUnreachable ? (instance.unreachableSince ?? now) : nil
        if status.hasHealthy { recordHealth(of: &instance, alive: status.healthy, message: status.message, now: now) }

        // An app without checks makes progress only once an instance has run for
        // `minimumRunningSeconds` (see `converge`): a command that exits at once must not
        // keep its deployment alive with every relaunch.
        let spec = apps[instance.appID]?.spec
        if let spec, spec.hasHealthChecks || spec.hasReadinessChecks,
           instance.isHealthy(hasHealthChecks: spec.hasHealthChecks, hasReadinessChecks: spec.hasReadinessChecks),
           !previous.isHealthy(hasHealthChecks: spec.hasHealthChecks, hasReadinessChecks: spec.hasReadinessChecks) {
            markProgress(appID: instance.appID, now: now)
        }
        if previous.health?.alive != instance.health?.alive, let alive = instance.health?.alive {
            outbox.append(.event(.healthChanged(instance, alive: alive)))
        }
        outbox.append(.event(.statusUpdate(instance, message: status.hasMessage ? status.message : nil)))

        if instance.isTerminal {
            ended(instance, status: status, now: now)
        } else {
            instances[taskID] = instance
            changes.instances.insert(taskID)
        }
        converge(now: now, only: instance.appID)
    }

    private mutating func recordHealth(of instance: inout Instance, alive: Bool, message: String, now: Date) {
        var health = instance.health ?? Instance.Health(alive: alive)
        health.alive = alive
        if alive {
            health.consecutiveFailures = 0
            health.lastSuccess = now
            if health.firstSuccess == nil { health.firstSuccess = now }
        } else {
            health.consecutiveFailures += 1
            health.lastFailure = now
            health.lastFailureCause = message.isEmpty ? nil : message
        }
        instance.health = health
    }

    /// A task reached a terminal state: forget the instance, count failures.
    private mutating func ended(_ instance: Instance, status: Agora_V1_TaskStatus, now: Date) {
        instances[instance.taskID] = nil
        if endedInstances.updateValue(EndedInstance(appID: instance.appID, agentHTTP: instance.agentHTTP, state: status.state),
                                      forKey: instance.taskID) == nil {
            endedOrder.append(instance.taskID)
            if endedOrder.count > Self.endedInstancesKept { endedInstances[endedOrder.removeFirst()] = nil }
        }
        changes.removedInstances.insert(instance.taskID)
        if instance.goal == .decommissioned { markProgress(appID: instance.appID, now: now) }
        guard var record = apps[instance.appID] else { return }
        let failed = [.taskFailed, .taskError].contains(status.state)
            || (status.state == .taskFinished && instance.goal == .running)
        if failed || [.taskLost, .taskGone, .taskDropped].contains(status.state), instance.goal == .running {
            record.lastTaskFailure = TaskFailure(
                taskID: instance.taskID, appID: instance.appID, host: instance.hostname, slaveID: instance.agentID,
                state: status.state.name, message: status.message, timestamp: now, version: instance.appVersion)
        }
        if failed, instance.goal == .running {
            record.backoff.recordFailure(spec: record.spec, now: now)
        }
        if status.state == .taskKilled, status.hasHealthy, !status.healthy, instance.goal == .running {
            outbox.append(.event(.unhealthyKill(instance, reason: status.message)))
        }
        apps[instance.appID] = record
        changes.apps.insert(instance.appID)
    }

    /// The result of an app's readiness check for one task.
    public mutating func readiness(taskID: String, ready: Bool, now: Date) {
        guard var instance = instances[taskID], instance.ready != ready else { return }
        instance.ready = ready
        instances[taskID] = instance
        changes.instances.insert(taskID)
        if ready { markProgress(appID: instance.appID, now: now) }
        converge(now: now, only: instance.appID)
    }

    /// Time passes: deployment timeouts, back-off ends, unreachable instances,
    /// repeated kills and periodic reconciliation.
    public mutating func tick(now: Date) {
        if let last = lastReconcileAt, now.timeIntervalSince(last) >= configuration.reconcileIntervalSeconds {
            reconcile(now: now)
        }
        for (taskID, instance) in instances where instance.goal == .decommissioned && !instance.isTerminal {
            if let at = instance.killRequestedAt, now.timeIntervalSince(at) >= configuration.killRetrySeconds {
                requestKill(taskID, now: now)
            }
        }
        for (id, deployment) in deployments where !deployment.isRunning {
            if let finishedAt = deployment.finishedAt,
               now.timeIntervalSince(finishedAt) >= configuration.endedDeploymentRetentionSeconds {
                deployments[id] = nil
                changes.removedDeployments.insert(id)
            }
        }
        converge(now: now)
    }

    private mutating func reconcile(now: Date) {
        lastReconcileAt = now
        let known = instances.values.filter { !$0.isTerminal }.sorted { $0.taskID < $1.taskID }
            .map { ReconcileEntry(taskID: $0.taskID, agentID: $0.agentID) }
        if !known.isEmpty { outbox.append(.reconcile(known)) }
        outbox.append(.reconcile([]))
    }

    // MARK: Convergence

    /// Moves apps towards their targets: deployments step, missing instances are
    /// queued, surplus ones killed. Called after every input: for the one app the input
    /// concerns, or for every app (`appID` nil) on a tick or a change of several apps.
    mutating func converge(now: Date, only appID: String? = nil) {
        for id in appID.map({ [$0] }) ?? apps.keys.sorted() { converge(appID: id, now: now) }
        updateSuppression()
    }

    private mutating func converge(appID: String, now: Date) {
        guard var record = apps[appID] else { return }
        let spec = record.spec
        let deployment = runningDeployment(of: appID)
        let live = instances(of: appID).filter { !$0.isTerminal }
        let active = live.filter { $0.goal == .running && !isInactive($0, spec: spec, now: now) }
        var waiting = 0

        if deployment?.currentAction == .stopApplication {
            for instance in live where instance.goal == .running { decommission(instance.taskID, now: now) }
            if live.isEmpty, let deployment { finishStop(deployment, now: now) }
            return
        }

        if deployment?.currentAction == .restartApplication {
            let old = active.filter { $0.configVersion != spec.configVersion }
            let new = active.filter { $0.configVersion == spec.configVersion }
            let core = self
            let healthy: (Instance) -> Bool = { core.countsAsHealthy($0, spec: spec, now: now) }
            let step = RestartStep.next(
                target: spec.instances, minimumHealthCapacity: spec.minimumHealthCapacity,
                maximumOverCapacity: spec.maximumOverCapacity, oldActive: old.count,
                oldHealthy: old.filter(healthy).count, newStarted: new.count, newHealthy: new.filter(healthy).count)
            let killOrder = old.filter { !healthy($0) } + killOrdered(old.filter(healthy), spec: spec)
            for instance in killOrder.prefix(step.killOld) { decommission(instance.taskID, now: now) }
            waiting = step.launchNew
            let oldLeft = live.contains { $0.configVersion != spec.configVersion }
            if step.isComplete, !oldLeft, let deployment { end(deployment, as: .succeeded, now: now) }
        } else {
            if active.count > spec.instances {
                for instance in killOrdered(active, spec: spec).prefix(active.count - spec.instances) {
                    decommission(instance.taskID, now: now)
                }
            }
            waiting = max(0, spec.instances - active.count)
            let healthy = active.filter { countsAsHealthy($0, spec: spec, now: now) }
            let draining = live.contains { $0.goal == .decommissioned }
            if healthy.count >= spec.instances, !draining, let deployment { end(deployment, as: .succeeded, now: now) }
        }

        if let deployment = runningDeployment(of: appID), !spec.hasHealthChecks, !spec.hasReadinessChecks,
           let settled = live.compactMap({ $0.startedAt?.addingTimeInterval(configuration.minimumRunningSeconds) })
               .filter({ $0 <= now }).max(),
           settled > deployment.lastProgressAt {
            markProgress(appID: appID, now: settled)
        }
        if let deployment = runningDeployment(of: appID),
           now.timeIntervalSince(deployment.lastProgressAt) >= configuration.deploymentTimeoutSeconds {
            let cause = record.lastTaskFailure.map { "; last task failure: \($0.state) \($0.message)" } ?? ""
            end(deployment, as: .failed, reason: "no progress for \(Int(configuration.deploymentTimeoutSeconds)) s"
                     + (record.waiting > 0 ? " with \(record.waiting) instance(s) waiting" : "") + cause, now: now)
        }

        if waiting > 0, record.waiting == 0 { record.waitingSince = now }
        if waiting == 0 { record.waitingSince = nil }
        record.waiting = waiting
        apps[appID] = record
    }

    /// Healthy for a deployment: passing its checks, or, for an app without checks,
    /// running for at least `minimumRunningSeconds`.
    func countsAsHealthy(_ instance: Instance, spec: RunSpec, now: Date) -> Bool {
        guard instance.isHealthy(hasHealthChecks: spec.hasHealthChecks, hasReadinessChecks: spec.hasReadinessChecks)
        else { return false }
        if spec.hasHealthChecks || spec.hasReadinessChecks { return true }
        return now.timeIntervalSince(instance.startedAt ?? now) >= configuration.minimumRunningSeconds
    }

    /// Unreachable long enough that the app's policy replaces it.
    private func isInactive(_ instance: Instance, spec: RunSpec, now: Date) -> Bool {
        guard let since = instance.unreachableSince, let policy = spec.unreachable else { return false }
        return now.timeIntervalSince(since) >= policy.inactiveAfterSeconds
    }

    /// Instances in the order they should be killed: not running first, then by the
    /// app's `killSelection`.
    private func killOrdered(_ candidates: [Instance], spec: RunSpec) -> [Instance] {
        candidates.sorted { a, b in
            let rankA = a.isRunning ? (a.health?.alive == false ? 1 : 2) : 0
            let rankB = b.isRunning ? (b.health?.alive == false ? 1 : 2) : 0
            if rankA != rankB { return rankA < rankB }
            return spec.killSelection == .youngestFirst ? a.stagedAt > b.stagedAt : a.stagedAt < b.stagedAt
        }
    }

    mutating func decommission(_ taskID: String, now: Date) {
        guard var instance = instances[taskID], instance.goal == .running else { return }
        instance.goal = .decommissioned
        instances[taskID] = instance
        requestKill(taskID, now: now)
    }

    private mutating func requestKill(_ taskID: String, now: Date) {
        guard var instance = instances[taskID] else { return }
        instance.killRequestedAt = now
        instances[taskID] = instance
        changes.instances.insert(taskID)
        outbox.append(.kill(taskID: taskID, agentID: instance.agentID,
                            gracePeriodSeconds: apps[instance.appID]?.spec.killGracePeriodSeconds))
    }

    private mutating func markProgress(appID: String, now: Date) {
        guard var deployment = runningDeployment(of: appID) else { return }
        deployment.lastProgressAt = now
        deployments[deployment.id] = deployment
        changes.deployments.insert(deployment.id)
    }

    /// Ends a running deployment: succeeded, failed or canceled (the last two with a reason).
    mutating func end(_ deployment: Deployment, as status: Deployment.Status, reason: String? = nil, now: Date) {
        var deployment = deployment
        deployment.status = status
        deployment.reason = reason
        deployment.finishedAt = now
        if status == .succeeded { deployment.currentStep = deployment.steps.count }
        deployments[deployment.id] = deployment
        changes.deployments.insert(deployment.id)
        if status == .succeeded {
            outbox.append(.event(.deploymentStepSuccess(deployment)))
            outbox.append(.event(.deploymentSuccess(deployment)))
        } else {
            outbox.append(.event(.deploymentFailed(deployment)))
        }
    }

    private mutating func finishStop(_ deployment: Deployment, now: Date) {
        apps[deployment.appID] = nil
        versions[deployment.appID] = nil
        changes.removedApps.insert(deployment.appID)
        end(deployment, as: .succeeded, now: now)
        outbox.append(.event(.appTerminated(appID: deployment.appID)))
    }

    /// Suppress offers while nothing waits; revive as soon as something does.
    private mutating func updateSuppression() {
        let anyWaiting = apps.values.contains { $0.waiting > 0 }
        if anyWaiting, suppressed {
            suppressed = false
            outbox.append(.revive)
        } else if !anyWaiting, !suppressed {
            suppressed = true
            outbox.append(.suppress)
        }
    }
}
