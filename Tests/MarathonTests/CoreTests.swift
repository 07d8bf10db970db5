import AgoraProto
import Foundation
import Resources
import Testing
@testable import Marathon

@Suite("Rolling restart arithmetic")
struct RestartStepTests {
    @Test("minimumHealthCapacity 1, maximumOverCapacity 1: all new instances start beside the old")
    func startsAllBesideOld() {
        let step = RestartStep.next(target: 4, minimumHealthCapacity: 1, maximumOverCapacity: 1,
                                    oldActive: 4, oldHealthy: 4, newStarted: 0, newHealthy: 0)
        #expect(step == RestartStep(killOld: 0, launchNew: 4, isComplete: false))
    }

    @Test("minimumHealthCapacity 0 kills everything first")
    func killsAllFirst() {
        let step = RestartStep.next(target: 3, minimumHealthCapacity: 0, maximumOverCapacity: 0,
                                    oldActive: 3, oldHealthy: 3, newStarted: 0, newHealthy: 0)
        #expect(step.killOld == 3)
        #expect(step.launchNew == 3)
    }

    @Test("0.5 / 0: half go, half are replaced, then one old goes per new healthy one")
    func halfAndHalf() {
        let first = RestartStep.next(target: 4, minimumHealthCapacity: 0.5, maximumOverCapacity: 0,
                                     oldActive: 4, oldHealthy: 4, newStarted: 0, newHealthy: 0)
        #expect(first == RestartStep(killOld: 2, launchNew: 2, isComplete: false))
        let waiting = RestartStep.next(target: 4, minimumHealthCapacity: 0.5, maximumOverCapacity: 0,
                                       oldActive: 2, oldHealthy: 2, newStarted: 2, newHealthy: 0)
        #expect(waiting == RestartStep(killOld: 0, launchNew: 0, isComplete: false))
        let oneHealthy = RestartStep.next(target: 4, minimumHealthCapacity: 0.5, maximumOverCapacity: 0,
                                          oldActive: 2, oldHealthy: 2, newStarted: 2, newHealthy: 1)
        #expect(oneHealthy.killOld == 1)
        let done = RestartStep.next(target: 4, minimumHealthCapacity: 0.5, maximumOverCapacity: 0,
                                    oldActive: 0, oldHealthy: 0, newStarted: 4, newHealthy: 4)
        #expect(done.isComplete)
    }

    @Test("1 / 0 would deadlock; one instance over capacity lets it move")
    func oneOverCapacity() {
        let step = RestartStep.next(target: 2, minimumHealthCapacity: 1, maximumOverCapacity: 0,
                                    oldActive: 2, oldHealthy: 2, newStarted: 0, newHealthy: 0)
        #expect(step == RestartStep(killOld: 0, launchNew: 1, isComplete: false))
    }

    @Test("unhealthy old instances are always replaceable")
    func unhealthyOldGoFirst() {
        let step = RestartStep.next(target: 3, minimumHealthCapacity: 1, maximumOverCapacity: 0,
                                    oldActive: 3, oldHealthy: 1, newStarted: 0, newHealthy: 0)
        #expect(step.killOld == 2)
    }
}

@Suite("MarathonCore")
struct MarathonCoreTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func offer(_ id: String, agent: String = "a1", host: String = "h1",
               resources: String = "cpus:4;mem:4096;ports:[31000-31099]") throws -> Agora_V1_Offer {
        var offer = Agora_V1_Offer()
        offer.id.value = id
        offer.agentID.value = agent
        offer.hostname = host
        offer.url.path = "http://\(host):5051"
        offer.resources = try Resources(parsing: resources).proto
        return offer
    }

    func app(_ id: String, instances: Int, cmd: String = "sleep 100") throws -> AppDefinition {
        var app = try AppDefinition(json: .object(["id": .string(id), "cmd": .string(cmd), "cpus": .number(0.5),
                                                   "mem": .number(64)]))
        app.instances = instances
        return app
    }

    func status(_ taskID: String, _ state: Agora_V1_TaskState, healthy: Bool? = nil) -> Agora_V1_TaskStatus {
        var status = Agora_V1_TaskStatus()
        status.taskID.value = taskID
        status.state = state
        status.agentID.value = "a1"
        if let healthy { status.healthy = healthy }
        return status
    }

    func launched(_ effects: [MarathonEffect]) -> [Agora_V1_TaskInfo] {
        effects.flatMap { effect -> [Agora_V1_TaskInfo] in
            if case .launch(_, let tasks) = effect { return tasks }
            return []
        }
    }

    func killed(_ effects: [MarathonEffect]) -> [String] {
        effects.compactMap { effect in
            if case .kill(let taskID, _, _) = effect { return taskID }
            return nil
        }
    }

    /// A core with `appID` created, its instances launched on one offer and running.
    func running(_ appID: String, instances: Int) throws -> (MarathonCore, [String]) {
        var core = MarathonCore()
        core.subscribed(frameworkID: "fw", now: start)
        _ = try core.createApp(app(appID, instances: instances), now: start)
        core.offers([try offer("o1")], now: start)
        let tasks = launched(core.drain().effects).map(\.taskID.value)
        for task in tasks { core.statusUpdate(status(task, .taskRunning), now: start) }
        core.tick(now: start.addingTimeInterval(3))
        _ = core.drain()
        return (core, tasks)
    }

    @Test("a new app's instances are packed onto one offer with Marathon's environment, and the deployment succeeds")
    func launchesAndSucceeds() throws {
        var core = MarathonCore()
        core.subscribed(frameworkID: "fw", now: start)
        let deployment = try core.createApp(app("/web", instances: 3), now: start)
        #expect(core.apps["/web"]?.waiting == 3)
        core.offers([try offer("o1")], now: start)
        let tasks = launched(core.drain().effects)
        #expect(tasks.count == 3)
        let environment = Dictionary(uniqueKeysWithValues: tasks[0].command.environment.variables.map { ($0.name, $0.value) })
        #expect(environment["MARATHON_APP_ID"] == "/web")
        #expect(environment["PORT0"].flatMap(Int.init).map { (31_000...31_099).contains($0) } == true)
        #expect(environment["HOST"] == "h1")
        for task in tasks { core.statusUpdate(status(task.taskID.value, .taskRunning), now: start) }
        #expect(core.deployments[deployment.id]?.status == .running, "just started is not yet a success")
        core.tick(now: start.addingTimeInterval(3))
        #expect(core.deployments[deployment.id]?.status == .succeeded)
        #expect(core.counts(of: "/web").running == 3)
    }

    @Test("a command that exits at once does not make its deployment succeed")
    func crashingAppDoesNotSucceed() throws {
        var core = MarathonCore()
        core.subscribed(frameworkID: "fw", now: start)
        let deployment = try core.createApp(app("/crash", instances: 1, cmd: "exit 3"), now: start)
        core.offers([try offer("o1")], now: start)
        let task = try #require(launched(core.drain().effects).first).taskID.value
        core.statusUpdate(status(task, .taskRunning), now: start)
        core.statusUpdate(status(task, .taskFailed), now: start.addingTimeInterval(0.1))
        core.tick(now: start.addingTimeInterval(5))
        #expect(core.deployments[deployment.id]?.status == .running)
    }

    @Test("a task that fails is replaced after its back-off; offers during the back-off are declined")
    func backoff() throws {
        var (core, tasks) = try running("/web", instances: 2)
        core.statusUpdate(status(tasks[0], .taskFailed), now: start.addingTimeInterval(1))
        #expect(core.apps["/web"]?.waiting == 1)
        core.offers([try offer("o2")], now: start.addingTimeInterval(1.5))
        let during = core.drain().effects
        #expect(launched(during).isEmpty)
        #expect(during.contains { if case .decline = $0 { true } else { false } })
        core.offers([try offer("o3")], now: start.addingTimeInterval(2.5))
        #expect(launched(core.drain().effects).count == 1)
        #expect(core.apps["/web"]?.lastTaskFailure?.taskID == tasks[0])
    }

    @Test("scaling down kills the youngest instances first and finishes when they are gone")
    func scaleDown() throws {
        var (core, tasks) = try running("/web", instances: 3)
        var smaller = try #require(core.apps["/web"]?.definition)
        smaller.instances = 1
        let deployment = try core.updateApp(smaller, force: false, now: start.addingTimeInterval(5))
        #expect(deployment.steps == [.scaleApplication])
        let kills = killed(core.drain().effects)
        #expect(kills.count == 2)
        for task in kills { core.statusUpdate(status(task, .taskKilled), now: start.addingTimeInterval(6)) }
        #expect(core.deployments[deployment.id]?.status == .succeeded)
        #expect(Set(core.instances.keys).count == 1)
        #expect(Set(tasks).isSuperset(of: core.instances.keys))
    }

    @Test("a change while deploying is refused unless forced, which cancels the running deployment")
    func locking() throws {
        var core = MarathonCore()
        core.subscribed(frameworkID: "fw", now: start)
        let first = try core.createApp(app("/web", instances: 2), now: start)
        #expect(throws: MarathonCoreError.locked(appID: "/web", deploymentIDs: [first.id])) {
            try core.updateApp(try app("/web", instances: 2, cmd: "sleep 200"), force: false, now: start)
        }
        let second = try core.updateApp(try app("/web", instances: 2, cmd: "sleep 200"), force: true, now: start)
        #expect(core.deployments[first.id]?.status == .canceled)
        #expect(second.steps == [.restartApplication])
    }

    @Test("a deployment that makes no progress fails with the last failure in its reason")
    func deploymentTimeout() throws {
        var configuration = MarathonCore.Configuration()
        configuration.deploymentTimeoutSeconds = 30
        var core = MarathonCore(configuration: configuration)
        core.subscribed(frameworkID: "fw", now: start)
        let deployment = try core.createApp(app("/broken", instances: 1), now: start)
        core.offers([try offer("o1")], now: start)
        let task = try #require(launched(core.drain().effects).first)
        var failed = status(task.taskID.value, .taskFailed)
        failed.message = "exited with status 3"
        core.statusUpdate(failed, now: start.addingTimeInterval(1))
        core.tick(now: start.addingTimeInterval(31))
        let ended = try #require(core.deployments[deployment.id])
        #expect(ended.status == .failed)
        #expect(ended.reason?.contains("exited with status 3") == true)
        // The instance is gone, but where it ran is remembered (its logs stay readable).
        #expect(core.instances[task.taskID.value] == nil)
        #expect(core.endedInstances[task.taskID.value].map { [$0.appID, $0.state.name] } == ["/broken", "TASK_FAILED"])
    }

    @Test("without checks, only an instance that keeps running counts as progress, not one that starts and exits")
    func briefRunsAreNoProgress() throws {
        var configuration = MarathonCore.Configuration()
        configuration.deploymentTimeoutSeconds = 10
        var core = MarathonCore(configuration: configuration)
        core.subscribed(frameworkID: "fw", now: start)
        let deployment = try core.createApp(app("/flaky", instances: 1), now: start)
        // Relaunched every few seconds, each run reaches RUNNING and exits at once.
        for second in stride(from: 0, through: 9, by: 3) {
            let now = start.addingTimeInterval(Double(second))
            core.tick(now: now)
            core.offers([try offer("o\(second)")], now: now)
            guard let task = launched(core.drain().effects).first else { continue }
            core.statusUpdate(status(task.taskID.value, .taskRunning), now: now)
            core.statusUpdate(status(task.taskID.value, .taskFailed), now: now.addingTimeInterval(0.1))
        }
        core.tick(now: start.addingTimeInterval(11))
        #expect(core.deployments[deployment.id]?.status == .failed)
    }

    @Test("rolling back a deployment cancels it and deploys the app as it was; force only cancels")
    func rollback() throws {
        var (core, _) = try running("/web", instances: 2)
        let upgrade = try core.updateApp(try app("/web", instances: 2, cmd: "sleep 200"), force: false,
                                         now: start.addingTimeInterval(5))
        let revert = try #require(try core.revertDeployment(upgrade.id, force: false, now: start.addingTimeInterval(6)))
        #expect(core.deployments[upgrade.id]?.status == .canceled)
        #expect(core.apps["/web"]?.definition.cmd == "sleep 100")
        #expect(revert.steps == [.restartApplication])
        #expect(try core.revertDeployment(revert.id, force: true, now: start.addingTimeInterval(7)) == nil)
        #expect(core.deployments[revert.id]?.status == .canceled)
        #expect(throws: MarathonCoreError.deploymentNotFound(revert.id)) {
            try core.revertDeployment(revert.id, force: true, now: start.addingTimeInterval(8))
        }
    }

    @Test("with a readiness check, a deployment waits until the new instances answer ready")
    func readinessGatesTheDeployment() throws {
        var core = MarathonCore()
        core.subscribed(frameworkID: "fw", now: start)
        let app = try AppDefinition(json: .object([
            "id": .string("/ready"), "cmd": .string("serve"), "cpus": .number(0.5), "mem": .number(64),
            "portDefinitions": .array([.object(["port": .number(0), "name": .string("http")])]),
            "readinessChecks": .array([.object(["portName": .string("http"), "path": .string("/ready")])]),
        ]))
        let deployment = try core.createApp(app, now: start)
        core.offers([try offer("o1")], now: start)
        let task = try #require(launched(core.drain().effects).first).taskID.value
        core.statusUpdate(status(task, .taskRunning), now: start)
        core.tick(now: start.addingTimeInterval(10))
        #expect(core.deployments[deployment.id]?.status == .running, "running is not ready")
        core.readiness(taskID: task, ready: true, now: start.addingTimeInterval(11))
        #expect(core.deployments[deployment.id]?.status == .succeeded)
    }

    @Test("an unreachable instance is replaced after inactiveAfterSeconds; with \"disabled\" it never is")
    func unreachableStrategy() throws {
        var (core, tasks) = try running("/web", instances: 1)
        core.statusUpdate(status(tasks[0], .taskUnreachable), now: start.addingTimeInterval(10))
        #expect(core.apps["/web"]?.waiting == 1, "the default strategy (0 s) replaces it at once")

        var patient = MarathonCore()
        patient.subscribed(frameworkID: "fw", now: start)
        var app = try app("/db", instances: 1)
        app.unreachableStrategy = .enabled(inactiveAfterSeconds: 60, expungeAfterSeconds: 120)
        _ = try patient.createApp(app, now: start)
        patient.offers([try offer("o1")], now: start)
        let task = try #require(launched(patient.drain().effects).first).taskID.value
        patient.statusUpdate(status(task, .taskRunning), now: start)
        patient.statusUpdate(status(task, .taskUnreachable), now: start.addingTimeInterval(10))
        #expect(patient.apps["/db"]?.waiting == 0)
        patient.tick(now: start.addingTimeInterval(71))
        #expect(patient.apps["/db"]?.waiting == 1)
    }

    @Test("deleting an app kills its instances and forgets it once they ended")
    func delete() throws {
        var (core, tasks) = try running("/web", instances: 2)
        _ = try core.deleteApp("/web", force: false, now: start)
        #expect(Set(killed(core.drain().effects)) == Set(tasks))
        #expect(core.apps["/web"] != nil)
        for task in tasks { core.statusUpdate(status(task, .taskKilled), now: start) }
        #expect(core.apps["/web"] == nil)
        #expect(core.drain().changes.removedApps == ["/web"])
    }

    @Test("an unknown running task of ours is killed; a restart reconciles what it knows")
    func reconciliation() throws {
        var (core, tasks) = try running("/web", instances: 1)
        core.statusUpdate(status("web.instance-00000000-0000-0000-0000-000000000000._app.1", .taskRunning), now: start)
        #expect(killed(core.drain().effects) == ["web.instance-00000000-0000-0000-0000-000000000000._app.1"])

        var restarted = MarathonCore(configuration: .init(), frameworkID: "fw",
                                     apps: core.apps.values.map(\.definition), versions: [],
                                     instances: Array(core.instances.values), deployments: [])
        restarted.subscribed(frameworkID: "fw", now: start)
        let effects = restarted.drain().effects
        let explicit = effects.compactMap { effect -> [ReconcileEntry]? in
            if case .reconcile(let entries) = effect, !entries.isEmpty { return entries }
            return nil
        }
        #expect(explicit.first?.map(\.taskID) == tasks)
        #expect(launched(effects).isEmpty)
        #expect(restarted.apps["/web"]?.waiting == 0, "nothing is relaunched for a task that still runs")
    }
}
