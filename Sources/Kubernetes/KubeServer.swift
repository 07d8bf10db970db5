import AgoraProto
import Foundation
import Framework
import Logging
import Resources
import ServiceLifecycle

/// The Kubernetes adapter as an Agora framework: places pending pods on offers as task
/// groups, turns task states into pod status, keeps a Node per agent, and runs the
/// workload controllers over the object store.
///
/// What it launched is recorded on each pod (annotations `agora.io/agent-id`,
/// `agora.io/attempt`, `agora.io/agent-http`) before the launch, so a restarted
/// adapter finds its tasks again and reconciles them with the master.
///
/// ```swift
/// let server = KubeServer(store: store, version: "0.1.0", logger: logger)
/// let driver = SchedulerDriver(master: …, frameworkInfo: KubeServer.frameworkInfo(), scheduler: server, idStore: …)
/// await server.attach(driver)
/// try await server.run()      // a Service: until graceful shutdown
/// ```
public actor KubeServer: Scheduler, PodLogSource, Service {
    public static let agentIDAnnotation = "agora.io/agent-id"
    public static let attemptAnnotation = "agora.io/attempt"
    public static let agentHTTPAnnotation = "agora.io/agent-http"

    /// How long offers are kept away when nothing is waiting for them; `revive` clears it.
    static let idleRefuseSeconds = 300.0
    /// How long offers are kept away while pods wait that did not fit in them.
    static let busyRefuseSeconds = 5.0
    /// A pod being deleted whose tasks have not ended this long after the grace period is deleted anyway.
    static let killTimeout: TimeInterval = 60
    /// How often a kill is sent again while the tasks have not ended.
    static let killResendInterval: TimeInterval = 5
    /// While offers are held back, how often to ask for them anyway, so that new agents
    /// become Nodes and known ones stay fresh.
    static let nodeRefreshInterval: TimeInterval = 30

    /// One launch attempt of a pod, as this adapter tracks it.
    struct PodRuntime {
        var uid: String
        var run: PodRun
        var agentHTTP: String
        /// The resources of the whole task group, executor included.
        var resources: Resources
        var backoffUntil: Date?
        var finalPhase: String?
        var lastTerminated: [String: JSONValue] = [:]
        var killRequestedAt: Date?
        var killSentAt: Date?
        var killGrace: TimeInterval = 30

        func relaunchDue(at time: Date) -> Bool {
            run.hasEnded && finalPhase == nil && killRequestedAt == nil && (backoffUntil.map { $0 <= time } ?? true)
        }
    }

    /// What offers told about an agent.
    struct AgentRecord {
        var node: NodeObject
        var lastWritten: Date?
    }

    public let store: ObjectStore
    let events: EventRecorder
    private let version: String
    private let logger: Logger
    private let now: @Sendable () -> Date
    private var driver: SchedulerDriver?
    private var frameworkID: String?
    private var runs: [String: PodRuntime] = [:]
    private var agents: [String: AgentRecord] = [:]
    private var unschedulable: [String: (message: String, at: Date)] = [:]
    private var reported: Set<String> = []
    private var offersHeldBack = false
    private var offersAskedAt = Date.distantPast

    public init(store: ObjectStore, version: String, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.version = version
        self.logger = logger
        self.now = now
        self.events = EventRecorder(store: store, logger: logger, now: now)
    }

    /// The FrameworkInfo to subscribe with: name `kubernetes`, a week of failover time
    /// so that pods keep running while the adapter restarts.
    public static func frameworkInfo(user: String = "root") -> Agora_V1_FrameworkInfo {
        var info = Agora_V1_FrameworkInfo()
        info.name = "kubernetes"
        info.user = user
        info.failoverTimeout = 7 * 24 * 3_600
        info.checkpoint = true
        return info
    }

    /// The driver to launch, kill and reconcile with; set before `run()`.
    public func attach(_ driver: SchedulerDriver) {
        self.driver = driver
    }

    // MARK: - Service

    /// Recovers what earlier runs launched, starts the driver, and runs the controllers,
    /// the pod watch and the timers until graceful shutdown; then stops the driver with
    /// failover, so the pods keep running for the next adapter.
    public func run() async throws {
        guard let driver else { throw KubeServerError("KubeServer.run() needs a driver; call attach(_:) first") }
        await recover()
        try await driver.start()
        let store = self.store, logger = self.logger, now = self.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await DeploymentController(store: store, logger: logger, now: now).run() }
            group.addTask { await ReplicaSetController(store: store, logger: logger, now: now).run() }
            group.addTask { await GarbageCollector(store: store, logger: logger, now: now).run() }
            group.addTask { await self.watchPods() }
            group.addTask { await self.tickPeriodically() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await store.closeWatches()
        await driver.stop(failover: true)
    }

    /// Rebuilds the runs of pods an earlier adapter launched, from their annotations and status.
    private func recover() async {
        for pod in await store.list(.pods, namespace: nil).items where !ObjectReferences.isTerminal(pod: pod) {
            guard let agentID = ObjectReferences.annotation(pod, Self.agentIDAnnotation),
                  let attempt = ObjectReferences.annotation(pod, Self.attemptAnnotation).flatMap(Int.init),
                  let requirements = try? PodRequirements(pod: pod) else { continue }
            let statuses = pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []
            var containers: [String: PodRun.ContainerTask] = [:]
            for container in requirements.containers {
                let id = PodTaskID(namespace: pod.namespace ?? "default", podName: pod.name, container: container.name,
                                   uid: ObjectReferences.uid(pod), attempt: attempt)
                let running = statuses.first { $0["name"]?.stringValue == container.name }?[path: ["state", "running"]]
                containers[container.name] = PodRun.ContainerTask(
                    taskID: id.value, state: running == nil ? .taskStaging : .taskRunning,
                    startedAt: StatusTime.date(running?["startedAt"]?.stringValue))
            }
            let hostIP = pod[path: ["status", "hostIP"]]?.stringValue ?? ""
            let launchedAt = StatusTime.date(pod[path: ["status", "startTime"]]?.stringValue) ?? now()
            let run = PodRun(agentID: agentID, nodeName: pod[path: ["spec", "nodeName"]]?.stringValue ?? "", hostIP: hostIP,
                             attempt: attempt, launchedAt: launchedAt, containers: containers)
            runs[Self.key(pod)] = PodRuntime(uid: ObjectReferences.uid(pod), run: run,
                                             agentHTTP: ObjectReferences.annotation(pod, Self.agentHTTPAnnotation) ?? "",
                                             resources: Self.groupResources(requirements))
        }
        for node in await store.list(.nodes, namespace: nil).items {
            guard let agentID = ObjectReferences.annotation(node, Self.agentIDAnnotation) else { continue }
            let capacity = node[path: ["status", "capacity"]]
            let cpus = capacity?["cpu"].flatMap { try? Quantity($0) }?.cores ?? 0
            let memory = capacity?["memory"].flatMap { try? Quantity($0) }?.megabytes ?? 0
            let disk = capacity?["ephemeral-storage"].flatMap { try? Quantity($0) }?.megabytes ?? 0
            let address = (node[path: ["status", "addresses"]]?.arrayValue ?? []).first { $0["type"]?.stringValue == "InternalIP" }
            agents[agentID] = AgentRecord(node: NodeObject(
                agentID: agentID, hostname: node.name, hostIP: address?["address"]?.stringValue ?? "",
                agentHTTP: ObjectReferences.annotation(node, Self.agentHTTPAnnotation) ?? "", labels: node.labels,
                capacity: PodTaskGroup.resources(cpus: cpus, memoryMB: memory, ports: []) + Self.disk(disk),
                ready: false, version: version))
        }
        logger.info("recovered the state of earlier runs", metadata: ["pods": "\(runs.count)", "nodes": "\(agents.count)"])
    }

    // MARK: - Scheduler callbacks

    public func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {
        self.frameworkID = frameworkID
        let known = runs.values.flatMap { runtime in
            runtime.run.containers.values.filter { !$0.state.isTerminal }.map { (taskID: $0.taskID, agentID: Optional(runtime.run.agentID)) }
        }
        do {
            if !known.isEmpty { try await driver.reconcile(tasks: known) }
            try await driver.reconcile()  // implicit: tasks this adapter no longer knows get killed
            try await driver.revive()
            offersHeldBack = false
            offersAskedAt = now()
        } catch {
            logger.warning("cannot reconcile after subscribing", metadata: ["error": "\(error)"])
        }
    }

    public func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        let time = now()
        var nodes: [NodeOffer] = []
        var invalid: [String] = []
        for offer in offers {
            guard let resources = try? OfferResources(offer) else {
                invalid.append(offer.id.value)
                continue
            }
            let node = await noteAgent(resources, time: time)
            nodes.append(NodeOffer(nodeName: node.hostname, labels: node.labels, offer: resources))
        }

        // Pods waiting for a node, oldest first; relaunches stay on their node.
        var waiting: [(pod: JSONValue, requirements: PodRequirements)] = []
        let pods = await store.list(.pods, namespace: nil).items
            .sorted { ObjectReferences.creationDate($0) < ObjectReferences.creationDate($1) }
        for pod in pods where needsLaunch(pod, at: time) && PodTaskGroup.containersWithoutCommand(pod).isEmpty {
            do {
                var requirements = try PodRequirements(pod: pod)
                if let runtime = runs[Self.key(pod)] { requirements.nodeName = runtime.run.nodeName }
                waiting.append((pod, requirements))
            } catch {
                await reportOnce(pod, reason: "FailedCreate", message: "cannot schedule the pod: \(error.message)")
            }
        }

        let outcome = PodPlacer.place(waiting.map(\.requirements), on: nodes)
        for (index, message) in outcome.failures.sorted(by: { $0.key < $1.key }) {
            await markUnschedulable(waiting[index].pod, message: message, time: time)
        }
        var operations: [Int: [(key: String, operation: Agora_V1_Offer.Operation)]] = [:]
        for placement in outcome.placements {
            let (pod, requirements) = waiting[placement.podIndex]
            if let operation = await prepareLaunch(pod, requirements: requirements, on: nodes[placement.nodeIndex], time: time) {
                operations[placement.nodeIndex, default: []].append((Self.key(pod), operation))
            }
        }
        for (nodeIndex, launches) in operations.sorted(by: { $0.key < $1.key }) {
            do {
                try await driver.accept(offerIDs: [nodes[nodeIndex].offer.offerID], operations: launches.map(\.operation))
            } catch {
                logger.warning("cannot launch pods", metadata: ["error": "\(error)"])
                for launch in launches { await launchFailed(launch.key, message: "the launch was not sent to the master: \(error)") }
            }
        }
        let unused = invalid + nodes.indices.filter { operations[$0] == nil }.map { nodes[$0].offer.offerID }
        let stillWaiting = !outcome.failures.isEmpty
        if !unused.isEmpty {
            try? await driver.decline(offerIDs: unused,
                                      filters: .refuse(seconds: stillWaiting ? Self.busyRefuseSeconds : Self.idleRefuseSeconds))
            if !stillWaiting { offersHeldBack = true }
        }
        if waiting.isEmpty {
            do {
                try await driver.suppress()
                offersHeldBack = true
            } catch {
                logger.debug("cannot suppress offers", metadata: ["error": "\(error)"])
            }
        }
    }

    public func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        let taskID = status.taskID.value
        guard let id = PodTaskID(parsing: taskID) else { return }
        let key = "\(id.namespace)/\(id.podName)"
        guard var runtime = runs[key], runtime.run.attempt == id.attempt,
              runtime.uid.replacingOccurrences(of: "-", with: "").hasPrefix(id.uidPrefix) else {
            if !status.state.isTerminal {
                logger.info("killing a task of no current pod", metadata: ["task_id": "\(taskID)"])
                try? await driver.kill(taskID: taskID, agentID: status.agentID.value)
            }
            return
        }
        let time = status.timestamp > 0 ? Date(timeIntervalSince1970: status.timestamp) : now()
        let exitCode = status.labels.labels.first { $0.key == "exit_code" }.flatMap { Int32($0.value) }
        let firstRun = status.state == .taskRunning && runtime.run.containers[id.container]?.startedAt == nil
        let wasEnded = runtime.run.hasEnded
        guard runtime.run.apply(taskID: taskID, state: status.state, at: time, exitCode: exitCode, message: status.message) else { return }
        runs[key] = runtime
        guard let pod = try? await store.get(.pods, namespace: id.namespace, name: id.podName) else {
            if !status.state.isTerminal { try? await driver.kill(taskID: taskID, agentID: status.agentID.value) }
            if runtime.run.hasEnded { runs[key] = nil }
            return
        }
        if firstRun {
            await events.record(.normal, reason: "Started", message: "Started container \(id.container)", about: pod,
                                type: .pods, host: runtime.run.nodeName)
        }
        if runtime.run.hasEnded, !wasEnded {
            if await runEnded(key, pod: pod) { return }
        }
        await writeStatus(key)
    }

    public func agentLost(_ driver: SchedulerDriver, agentID: String) async {
        guard var record = agents[agentID] else { return }
        record.node.ready = nil
        agents[agentID] = record
        await writeNode(agentID, force: true)
    }

    public func disconnected(_ driver: SchedulerDriver) async {
        logger.warning("lost the master; pods keep their last known state until it is back")
    }

    public func error(_ driver: SchedulerDriver, message: String) async {
        logger.error("the master reported an error", metadata: ["message": "\(message)"])
    }

    // MARK: - PodLogSource

    /// The container's stdout while its task runs; once it has ended, stdout followed by
    /// stderr (so that offsets stay valid as the output grows).
    public func logs(namespace: String, pod name: String, container: String?,
                     offset: Int) async throws(APIError) -> (data: Data, finished: Bool)? {
        let pod = try await store.get(.pods, namespace: namespace, name: name)
        let names = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let chosen: String
        if let container, !container.isEmpty {
            guard names.contains(container) else {
                throw .badRequest("container \(container) is not valid for pod \(name)")
            }
            chosen = container
        } else {
            guard names.count == 1 else {
                throw .badRequest("a container name must be specified for pod \(name), choose one of: [\(names.joined(separator: " "))]")
            }
            chosen = names[0]
        }
        guard let runtime = runs[Self.key(pod)], runtime.uid == ObjectReferences.uid(pod),
              let task = runtime.run.containers[chosen], task.state != .taskStaging || !runtime.agentHTTP.isEmpty,
              let frameworkID else { return nil }
        let finished = task.state.isTerminal
        do {
            let stdout = try await TaskFiles.read(agentHTTP: runtime.agentHTTP, frameworkID: frameworkID, taskID: task.taskID,
                                                  file: "stdout")
            var data = stdout
            if finished {
                data += (try? await TaskFiles.read(agentHTTP: runtime.agentHTTP, frameworkID: frameworkID,
                                                   taskID: task.taskID, file: "stderr")) ?? Data()
            }
            return (offset < data.count ? data.subdata(in: offset..<data.count) : Data(), finished)
        } catch let error as TaskFilesError where error.code == .fileNotFound || error.code == .taskNotFound {
            return task.state == .taskStaging ? nil : (Data(), true)
        } catch {
            throw .internalError("cannot read the logs of container \(chosen) of pod \(name): \(error)")
        }
    }

    // MARK: - Pods

    private func watchPods() async {
        while !Task.isCancelled {
            guard let events = try? await store.watch(.pods, namespace: nil, resourceVersion: nil) else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            for await event in events {
                switch event.type {
                case .added, .modified: await podChanged(event.object)
                case .deleted: await podDeleted(event.object)
                default: break
                }
            }
        }
    }

    private func podChanged(_ pod: JSONValue) async {
        let key = Self.key(pod)
        if let runtime = runs[key], runtime.uid != ObjectReferences.uid(pod) {
            await killTasks(of: runtime)
            runs[key] = nil
        }
        if ObjectReferences.isDeleting(pod) {
            await beginDeletion(pod)
        } else if needsLaunch(pod, at: now()) {
            let imageless = PodTaskGroup.containersWithoutCommand(pod)
            if imageless.isEmpty {
                await wantOffers()
            } else if !reported.contains(Self.reportKey(pod, "ImagesNotSupported")) {
                await reportOnce(pod, reason: "FailedCreate", message: """
                    Agora does not run container images yet: the command of each container runs on the agent's host. \
                    Container \(imageless.joined(separator: ", ")) has no command; give it one (the image is only recorded).
                    """, key: "ImagesNotSupported")
                await writeStatus(key)
            }
        }
    }

    private func podDeleted(_ pod: JSONValue) async {
        let key = Self.key(pod)
        unschedulable[key] = nil
        guard let runtime = runs[key], runtime.uid == ObjectReferences.uid(pod) else { return }
        await killTasks(of: runtime)
        runs[key] = nil
    }

    /// Kills the pod's tasks, or deletes the pod at once when none runs.
    private func beginDeletion(_ pod: JSONValue) async {
        let key = Self.key(pod)
        guard var runtime = runs[key], !runtime.run.hasEnded else {
            runs[key] = nil
            _ = try? await store.delete(.pods, namespace: pod.namespace, name: pod.name)
            return
        }
        guard runtime.killRequestedAt == nil else { return }
        runtime.killRequestedAt = now()
        runtime.killSentAt = runtime.killRequestedAt
        runtime.killGrace = TimeInterval(pod[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue
            ?? pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30)
        runs[key] = runtime
        for (name, task) in runtime.run.containers.sorted(by: { $0.key < $1.key }) where !task.state.isTerminal {
            await events.record(.normal, reason: "Killing", message: "Stopping container \(name)", about: pod, type: .pods,
                                host: runtime.run.nodeName)
        }
        await killTasks(of: runtime, grace: runtime.killGrace)
        await writeStatus(key)
    }

    private func killTasks(of runtime: PodRuntime, grace: TimeInterval? = nil) async {
        guard let driver else { return }
        var policy: Agora_V1_KillPolicy?
        if let grace {
            var kill = Agora_V1_KillPolicy()
            kill.gracePeriod.nanoseconds = Int64(max(0, grace) * 1_000_000_000)
            policy = kill
        }
        for task in runtime.run.containers.values where !task.state.isTerminal {
            do {
                try await driver.kill(taskID: task.taskID, agentID: runtime.run.agentID, killPolicy: policy)
            } catch {
                logger.info("cannot kill a task now; sending the kill again shortly",
                            metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
            }
        }
    }

    /// Whether the pod waits for a launch: new, or its ended group is due for a relaunch.
    private func needsLaunch(_ pod: JSONValue, at time: Date) -> Bool {
        guard !ObjectReferences.isTerminal(pod: pod), !ObjectReferences.isDeleting(pod) else { return false }
        guard let runtime = runs[Self.key(pod)], runtime.uid == ObjectReferences.uid(pod) else {
            return ObjectReferences.annotation(pod, Self.attemptAnnotation) == nil
        }
        return runtime.relaunchDue(at: time)
    }

    /// Records the launch on the pod (annotations, node, status) and returns the LAUNCH_GROUP operation.
    private func prepareLaunch(_ pod: JSONValue, requirements: PodRequirements, on node: NodeOffer,
                               time: Date) async -> Agora_V1_Offer.Operation? {
        let key = Self.key(pod)
        let previous = runs[key]
        let attempt = previous.map { $0.run.attempt + 1 } ?? 0
        let agent = agents[node.offer.agentID]
        let hostIP = agent?.node.hostIP ?? node.offer.hostname
        let group: (executor: Agora_V1_ExecutorInfo, tasks: [Agora_V1_TaskInfo])
        do {
            group = try PodTaskGroup.build(pod: pod, requirements: requirements, placement: .init(
                agentID: node.offer.agentID, nodeName: node.nodeName, hostIP: hostIP, attempt: attempt))
        } catch {
            await reportOnce(pod, reason: "FailedCreate", message: "cannot run the pod: \(error.message)")
            return nil
        }
        let nodeName = node.nodeName, agentID = node.offer.agentID, agentHTTP = agent?.node.agentHTTP ?? ""
        do {
            _ = try await store.modify(.pods, namespace: pod.namespace, name: pod.name) { pod in
                guard !ObjectReferences.isDeleting(pod) else { throw KubeServerError("the pod is being deleted") }
                pod[path: ["spec", "nodeName"]] = .string(nodeName)
                pod[path: ["metadata", "annotations", Self.agentIDAnnotation]] = .string(agentID)
                pod[path: ["metadata", "annotations", Self.attemptAnnotation]] = .string(String(attempt))
                pod[path: ["metadata", "annotations", Self.agentHTTPAnnotation]] = .string(agentHTTP)
            }
        } catch {
            logger.info("not launching a pod that changed meanwhile", metadata: ["pod": "\(key)", "error": "\(error)"])
            return nil
        }
        var containers: [String: PodRun.ContainerTask] = [:]
        for (container, task) in zip(requirements.containers, group.tasks) {
            containers[container.name] = PodRun.ContainerTask(taskID: task.taskID.value)
        }
        var runtime = PodRuntime(uid: ObjectReferences.uid(pod), run: PodRun(
            agentID: agentID, nodeName: nodeName, hostIP: hostIP, attempt: attempt, launchedAt: time, containers: containers),
            agentHTTP: agentHTTP, resources: Self.groupResources(requirements))
        if let previous {
            runtime.lastTerminated = previous.run.containers.mapValues(PodStatusBuilder.terminated)
        }
        runs[key] = runtime
        unschedulable[key] = nil
        if attempt == 0 {
            await events.record(.normal, reason: "Scheduled", message: "Successfully assigned \(key) to \(nodeName)",
                                about: pod, type: .pods)
        }
        await writeStatus(key)
        return .launchGroup(executor: group.executor, tasks: group.tasks)
    }

    /// A launch that never reached the master: its tasks count as lost.
    private func launchFailed(_ key: String, message: String) async {
        guard var runtime = runs[key] else { return }
        for task in runtime.run.containers.values {
            _ = runtime.run.apply(taskID: task.taskID, state: .taskLost, at: now(), exitCode: nil, message: message)
        }
        runs[key] = runtime
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard let pod = try? await store.get(.pods, namespace: parts[0], name: parts[1]) else { return }
        if await runEnded(key, pod: pod) { return }
        await writeStatus(key)
    }

    /// Decides what follows an ended group; returns true when the pod was deleted.
    private func runEnded(_ key: String, pod: JSONValue) async -> Bool {
        guard var runtime = runs[key] else { return false }
        if runtime.killRequestedAt != nil || ObjectReferences.isDeleting(pod) {
            runs[key] = nil
            _ = try? await store.delete(.pods, namespace: pod.namespace, name: pod.name)
            return true
        }
        let time = now()
        switch PodLifecycle.decide(restartPolicy: pod[path: ["spec", "restartPolicy"]]?.stringValue, run: runtime.run, now: time) {
        case .finished(let phase):
            runtime.finalPhase = phase
        case .relaunch(let delay):
            runtime.backoffUntil = time.addingTimeInterval(delay)
            let failed = runtime.run.containers.filter { $0.value.state != .taskFinished && $0.value.state != .taskKilled }
                .keys.sorted()
            for name in failed.isEmpty ? runtime.run.containers.keys.sorted() : failed {
                await events.record(.warning, reason: "BackOff",
                                    message: "Back-off restarting failed container \(name) in pod \(pod.name)",
                                    about: pod, type: .pods, host: runtime.run.nodeName)
            }
        }
        runs[key] = runtime
        return false
    }

    private func writeStatus(_ key: String) async {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return }
        let runtime = runs[key]
        let facts = PodStatusBuilder.Facts(
            run: runtime?.run, unschedulable: unschedulable[key]?.message, backoffUntil: runtime?.backoffUntil,
            finalPhase: runtime?.finalPhase, lastTerminated: runtime?.lastTerminated ?? [:])
        let time = now()
        let uid = runtime?.uid
        do {
            _ = try await store.modify(.pods, namespace: parts[0], name: parts[1], status: true) { pod in
                if let uid, ObjectReferences.uid(pod) != uid { return }
                pod["status"] = PodStatusBuilder.status(of: pod, facts: facts, now: time)
            }
        } catch {
            logger.debug("cannot write a pod's status", metadata: ["pod": "\(key)", "error": "\(error)"])
        }
    }

    /// PodScheduled=False with kube-scheduler's reason, and a FailedScheduling event
    /// when the reason changed or a minute passed.
    private func markUnschedulable(_ pod: JSONValue, message: String, time: Date) async {
        let key = Self.key(pod)
        if let last = unschedulable[key], last.message == message, time.timeIntervalSince(last.at) < 60 { return }
        unschedulable[key] = (message, time)
        await events.record(.warning, reason: "FailedScheduling", message: message, about: pod, type: .pods)
        if runs[key] == nil { await writeStatus(key) }
    }

    private func reportOnce(_ pod: JSONValue, reason: String, message: String, key: String? = nil) async {
        let reportKey = Self.reportKey(pod, key ?? message)
        guard reported.insert(reportKey).inserted else { return }
        await events.record(.warning, reason: reason, message: message, about: pod, type: .pods)
    }

    /// Asks for offers again after they were declined for long or suppressed.
    private func wantOffers() async {
        guard offersHeldBack, let driver else { return }
        do {
            try await driver.revive()
            offersHeldBack = false
            offersAskedAt = now()
        } catch {
            logger.debug("cannot revive offers yet", metadata: ["error": "\(error)"])
        }
    }

    private func tickPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await tick()
        }
    }

    /// Relaunches that became due, kills to send again (the master may not have had
    /// them), and deletions whose tasks never reported their end.
    private func tick() async {
        let time = now()
        var due = false
        for (key, runtime) in runs {
            if let until = runtime.backoffUntil, until <= time, runtime.relaunchDue(at: time) { due = true }
            if let sent = runtime.killSentAt, !runtime.run.hasEnded, time.timeIntervalSince(sent) >= Self.killResendInterval {
                runs[key]?.killSentAt = time
                await killTasks(of: runtime, grace: runtime.killGrace)
            }
            if let asked = runtime.killRequestedAt, time.timeIntervalSince(asked) > runtime.killGrace + Self.killTimeout {
                logger.warning("deleting a pod whose tasks did not report their end", metadata: ["pod": "\(key)"])
                runs[key] = nil
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                _ = try? await store.delete(.pods, namespace: parts[0], name: parts[1])
            }
        }
        if due || time.timeIntervalSince(offersAskedAt) >= Self.nodeRefreshInterval { await wantOffers() }
    }

    // MARK: - Nodes

    /// Updates the agent's Node from an offer and returns it.
    private func noteAgent(_ offer: OfferResources, time: Date) async -> NodeObject {
        let agentID = offer.agentID
        let ours = runs.values.filter { $0.run.agentID == agentID && !$0.run.hasEnded }.reduce(Resources()) { $0 + $1.resources }
        let seen = (offer.total + ours).unreserved
        let agentHTTP = offer.offer.url.path
        var node: NodeObject
        if let existing = agents[agentID]?.node {
            node = existing
            node.capacity = Self.largest(existing.capacity, seen)
            node.ready = true
            if !agentHTTP.isEmpty { node.agentHTTP = agentHTTP }
        } else {
            let name = nodeName(hostname: offer.hostname, agentID: agentID)
            node = NodeObject(agentID: agentID, hostname: name, hostIP: Self.hostIP(agentHTTP: agentHTTP, hostname: offer.hostname),
                              agentHTTP: agentHTTP, labels: [:], capacity: seen, ready: true, version: version)
        }
        node.labels = NodeLabels.labels(hostname: node.hostname, attributes: offer.attributes)
        agents[agentID, default: AgentRecord(node: node)].node = node
        await writeNode(agentID, force: false)
        return node
    }

    /// The agent's hostname, made unique with the agent ID when another agent has it already.
    private func nodeName(hostname: String, agentID: String) -> String {
        let base = hostname.lowercased()
        guard agents.values.contains(where: { $0.node.hostname == base }) else { return base }
        let suffix = String(agentID.lowercased().map { $0.isASCIIAlphanumeric ? $0 : "-" })
        return "\(base)-\(suffix)"
    }

    /// Writes the Node when it changed, or as a heartbeat every 30 seconds.
    private func writeNode(_ agentID: String, force: Bool) async {
        guard let record = agents[agentID] else { return }
        let time = now()
        let previous = try? await store.get(.nodes, namespace: nil, name: record.node.hostname)
        var node = record.node.json(previous: previous, now: time)
        // Runs on every offer: an unchanged node is written again only every 30 s.
        if !force, let written = record.lastWritten, time.timeIntervalSince(written) < 30,
           !NodeObject.differs(previous, node) { return }
        do {
            if previous == nil {
                _ = try await store.create(.nodes, namespace: nil, object: node)
            } else {
                node[path: ["metadata", "resourceVersion"]] = nil
                _ = try await store.update(.nodes, namespace: nil, name: record.node.hostname, object: node)
                _ = try await store.update(.nodes, namespace: nil, name: record.node.hostname, object: node, subresource: "status")
            }
            agents[agentID]?.lastWritten = time
        } catch {
            logger.warning("cannot write a node", metadata: ["node": "\(record.node.hostname)", "error": "\(error)"])
        }
    }

    // MARK: - Helpers

    private static func key(_ pod: JSONValue) -> String { "\(pod.namespace ?? "default")/\(pod.name)" }

    private static func reportKey(_ pod: JSONValue, _ what: String) -> String { ObjectReferences.uid(pod) + "\u{0}" + what }

    static func groupResources(_ requirements: PodRequirements) -> Resources {
        PodTaskGroup.resources(cpus: requirements.totalCPUs, memoryMB: requirements.totalMemoryMB, ports: [])
    }

    private static func disk(_ megabytes: Double) -> Resources {
        megabytes > 0 ? [Resource(name: "disk", value: .scalar(Scalar(megabytes)))] : Resources()
    }

    /// Per scalar resource, the larger of the two.
    private static func largest(_ a: Resources, _ b: Resources) -> Resources {
        var result = Resources()
        for name in ["cpus", "mem", "disk"] {
            let amount = max(a.scalar(named: name), b.scalar(named: name))
            if !amount.isZero { result.add(Resource(name: name, value: .scalar(amount))) }
        }
        return result
    }

    /// The host of the agent's HTTP address when it is an IP address, else the hostname resolved to IPv4.
    static func hostIP(agentHTTP: String, hostname: String) -> String {
        var address = Substring(agentHTTP)
        if let scheme = address.range(of: "://") { address = address[scheme.upperBound...] }
        address = address.prefix { $0 != "/" }
        let host = address.split(separator: ":").dropLast().joined(separator: ":")
        for candidate in [host, hostname] where !candidate.isEmpty {
            var address = in_addr()
            if inet_pton(AF_INET, candidate, &address) == 1 { return candidate }
        }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host.isEmpty ? hostname : host, nil, &hints, &result) == 0, let first = result else { return hostname }
        defer { freeaddrinfo(result) }
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        let resolved = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
            var address = pointer.pointee.sin_addr
            return inet_ntop(AF_INET, &address, &buffer, socklen_t(INET_ADDRSTRLEN)) != nil
        }
        return resolved ? String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self) : hostname
    }
}

/// The adapter cannot start or was used wrongly; the description says why.
public struct KubeServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
