import Foundation
import Testing
@testable import Marathon

/// The Python `marathon` client (0.13.0) the integration tests drive Agora with; its
/// models reject unknown keys, so every response shape is checked against it.
enum PythonMarathonClient {
    /// `$MARATHON_CLIENT_PYTHON`, else the venv the Marathon brief sets up.
    static let python = ProcessInfo.processInfo.environment["MARATHON_CLIENT_PYTHON"] ?? "/tmp/mvenv/bin/python"

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/check_client_models.py")

    /// Whether `python` can import `marathon`.
    static let isAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? run(["-c", "import marathon"]).status) == 0
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

@Suite("Marathon responses are accepted by the Python marathon client")
struct ModelClientCompatibilityTests {
    let now = MarathonTimestamp(parsing: "2024-05-01T12:00:00.123Z")!
    let earlier = MarathonTimestamp(parsing: "2024-05-01T11:00:00.000Z")!

    func sampleApp() throws -> AppDefinition {
        var app = try AppDefinition.decode(body: Data(#"""
        {"id": "/prod/web", "cmd": "python3 -m http.server $PORT0", "instances": 2, "cpus": 0.1, "mem": 32,
         "constraints": [["hostname", "UNIQUE"], ["rack", "MAX_PER", "2"]], "env": {"A": "b"},
         "labels": {"team": "core"}, "fetch": [{"uri": "http://example.com/site.tgz"}],
         "portDefinitions": [{"port": 0, "name": "http"}],
         "container": {"type": "DOCKER", "docker": {"image": "python:3"},
                       "volumes": [{"containerPath": "/data", "hostPath": "/srv", "mode": "RO"}]},
         "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}],
         "readinessChecks": [{"portName": "http"}],
         "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.2},
         "taskKillGracePeriodSeconds": 5, "acceptedResourceRoles": ["*"], "role": "prod",
         "dependencies": ["/prod/db"]}
        """#.utf8))
        app.version = now
        app.versionInfo = VersionInfo(lastScalingAt: now, lastConfigChangeAt: earlier)
        return app
    }

    func sampleTask(_ app: AppDefinition) -> TaskJSON {
        let id = MarathonTaskID(appID: app.id, uuid: "8a5e0c52-1c1a-4d3b-9c1e-1b2f3c4d5e6f")
        return TaskJSON(
            id: id.description, appId: app.id, host: "agent-1", ports: [31001], servicePorts: [0],
            slaveId: "a1b2-S0", state: "TASK_RUNNING", stagedAt: earlier, startedAt: now, version: now,
            ipAddresses: [IPAddressJSON(ipAddress: "10.0.0.5")],
            healthCheckResults: [HealthCheckResultJSON(alive: true, firstSuccess: now, lastSuccess: now,
                                                       instanceId: id.instanceID)])
    }

    func samplePlan(_ app: AppDefinition) -> DeploymentPlanJSON {
        DeploymentPlanJSON(
            id: "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43", version: now,
            original: GroupJSON(apps: [], version: earlier), target: GroupJSON(apps: [app], version: now),
            steps: [DeploymentStepJSON(actions: [DeploymentActionJSON(action: .startApplication, app: app.id)]),
                    DeploymentStepJSON(actions: [DeploymentActionJSON(action: .scaleApplication, app: app.id)])])
    }

    func write(_ files: [String: Data], into directory: URL) throws -> [String] {
        try files.sorted { $0.key < $1.key }.map { kind, data in
            let url = directory.appendingPathComponent("\(kind).json")
            try data.write(to: url)
            return "\(kind)=\(url.path)"
        }
    }

    @Test(.enabled(if: PythonMarathonClient.isAvailable,
                   "needs a Python with marathon==0.13.0 at $MARATHON_CLIENT_PYTHON or /tmp/mvenv/bin/python (python3 -m venv /tmp/mvenv && /tmp/mvenv/bin/pip install marathon==0.13.0)"))
    func everyResponseShapeIsAcceptedByTheClient() throws {
        let app = try sampleApp()
        let task = sampleTask(app)
        let failure = TaskFailureJSON(appId: app.id, host: "agent-1", message: "exited with status 1",
                                      state: "TASK_FAILED", taskId: task.id, slaveId: "a1b2-S0", timestamp: now,
                                      version: now)
        let info = AppInfo(app: app, tasksStaged: 0, tasksRunning: 1, tasksHealthy: 1, tasksUnhealthy: 0,
                           deployments: [.init(id: "d-1")], tasks: [task], lastTaskFailure: failure,
                           readinessCheckResults: [ReadinessCheckResultJSON(name: "readinessCheck", taskId: task.id,
                                                                            ready: false)])
        let plan = samplePlan(app)
        let deployment = DeploymentJSON(
            id: plan.id, version: now, affectedApps: [app.id], steps: plan.steps,
            currentActions: [DeploymentCurrentActionJSON(action: .scaleApplication, app: app.id)], currentStep: 2)
        let queue = QueueItemJSON(
            count: 1, delay: QueueDelayJSON(timeLeftSeconds: 3, overdue: false), since: earlier, app: app,
            processedOffersSummary: ProcessedOffersSummaryJSON(
                processedOffersCount: 4, unusedOffersCount: 3, lastUnusedOfferAt: now,
                rejectSummaryLastOffers: ProcessedOffersSummaryJSON.funnel(
                    processedOffers: 4, firstReasons: [.insufficientMemory, .unfulfilledConstraint, .insufficientPorts]),
                rejectSummaryLaunchAttempt: ProcessedOffersSummaryJSON.funnel(processedOffers: 0, firstReasons: [])))
        let serverInfo = InfoJSON(
            version: "0.1.0", buildref: "dev", elected: true, leader: "127.0.0.1:8080", frameworkId: "fw-1",
            marathonConfig: MarathonConfigJSON(master: "tcp://127.0.0.1:5050", frameworkName: "marathon",
                                               failoverTimeout: 604_800, checkpoint: true, ha: false,
                                               declineOfferDuration: 120_000, maxInstancesPerOffer: 5),
            httpConfig: HTTPConfigJSON(httpPort: 8080))
        let events: [MarathonEvent] = [
            .eventStreamAttached(remoteAddress: "127.0.0.1"),
            .apiPost(clientIp: "127.0.0.1", uri: "/v2/apps", appDefinition: app),
            .statusUpdate(.init(slaveId: "a1b2-S0", taskId: task.id, taskStatus: "TASK_RUNNING", appId: app.id,
                                host: "agent-1", ipAddresses: task.ipAddresses, ports: task.ports, version: now)),
            .deploymentInfo(plan: plan, currentStep: plan.steps[0]),
            .deploymentStepSuccess(plan: plan, currentStep: plan.steps[0]),
            .deploymentStepFailure(plan: plan, currentStep: plan.steps[1]),
            .deploymentSuccess(plan: plan),
            .deploymentFailed(plan: plan, reason: "no progress for 600 seconds"),
            .healthStatusChanged(appId: app.id, taskId: task.id, instanceId: "i", version: now, alive: false),
            .unhealthyTaskKill(appId: app.id, taskId: task.id, instanceId: "i", version: now,
                               reason: "3 consecutive health check failures", host: "agent-1", slaveId: "a1b2-S0"),
            .failedHealthCheck(appId: app.id, taskId: task.id, instanceId: "i", healthCheck: app.healthChecks[0]),
            .appTerminated(appId: app.id),
        ]
        #expect(Set(events.map(\.eventType)) == MarathonEvent.eventTypes)

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("marathon-client-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files: [String: Data] = [
            "app": try MarathonJSON.encode(["app": info]),
            "apps": try MarathonJSON.encode(["apps": [info, AppInfo(app: app)]]),
            "task": try MarathonJSON.encode(["task": task]),
            "tasks": try MarathonJSON.encode(["tasks": [task]]),
            "deployments": try MarathonJSON.encode([deployment]),
            "queue": try MarathonJSON.encode(["queue": [queue]]),
            "info": try MarathonJSON.encode(serverInfo),
            "events": Data(events.map { $0.sseFrame(at: now) }.joined().utf8),
        ]
        let arguments = try write(files, into: directory)
        let result = try PythonMarathonClient.run([PythonMarathonClient.script.path] + arguments)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: "\n").filter { $0.hasPrefix("ok ") }.count == files.count)
    }

    @Test(.enabled(if: PythonMarathonClient.isAvailable, "needs a Python with marathon==0.13.0"))
    func theCheckerRejectsKeysTheClientDoesNotKnow() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("marathon-client-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = try write([
            "queue": Data(#"{"queue": [{"app": {"id": "/a"}, "delay": {}, "count": 1, "role": "*"}]}"#.utf8),
            "tasks": Data(#"{"tasks": [{"id": "a.b", "stagedAt": "2024-05-01T12:00:00+00:00"}]}"#.utf8),
        ], into: directory)
        let result = try PythonMarathonClient.run([PythonMarathonClient.script.path] + arguments)
        #expect(result.status == 1)
        #expect(result.output.contains("FAIL queue") && result.output.contains("role"), "\(result.output)")
        #expect(result.output.contains("FAIL tasks") && result.output.contains("datetime"), "\(result.output)")
    }
}

@Suite("Marathon response shapes")
struct ModelResponseShapeTests {
    let now = MarathonTimestamp(millisecondsSince1970: 1_714_564_800_123)

    @Test func appInfoPutsCountsBesideTheAppsKeys() throws {
        let app = try AppDefinition(json: .object(["id": .string("/a"), "cmd": .string("true")]))
        let info = AppInfo(app: app, tasksRunning: 2, deployments: [.init(id: "d")])
        let json = try MarathonJSON.from(info)
        #expect(json["id"] == .string("/a") && json["tasksRunning"] == .number(2) && json["tasksStaged"] == .number(0))
        #expect(json["deployments"] == .array([.object(["id": .string("d")])]))
        #expect(json["tasks"] == nil && json["lastTaskFailure"] == nil)
        #expect(try JSONDecoder().decode(AppInfo.self, from: MarathonJSON.encode(info)) == info)
    }

    @Test func responsesRoundTripForTheCLI() throws {
        let result = DeploymentResult(version: now, deploymentId: "d-1")
        #expect(try MarathonJSON.from(result).serialized
            == #"{"deploymentId":"d-1","version":"2024-05-01T12:00:00.123Z"}"#)
        let task = TaskJSON(id: "a.instance-u._app.1", appId: PathID("/a"), host: "h", slaveId: "s",
                            state: "TASK_STAGING", stagedAt: now)
        let taskJSON = try MarathonJSON.from(task)
        #expect(taskJSON["startedAt"] == nil && taskJSON["appId"] == .string("/a"))
        #expect(try JSONDecoder().decode(TaskJSON.self, from: MarathonJSON.encode(task)) == task)
    }

    @Test func infoUsesSnakeCaseConfigKeysAndAlwaysHasAllThree() throws {
        let info = InfoJSON(version: "0.1", buildref: "x", elected: true, leader: nil, frameworkId: nil,
                            marathonConfig: MarathonConfigJSON(master: "m", failoverTimeout: 60),
                            httpConfig: HTTPConfigJSON(httpPort: 8080))
        let json = try MarathonJSON.from(info)
        #expect(json["marathon_config"] == .object(["master": .string("m"), "failover_timeout": .number(60)]))
        #expect(json["zookeeper_config"] == .object([:]))
        #expect(json["http_config"] == .object(["http_port": .number(8080)]))
    }

    @Test func rejectionFunnelCountsEachOfferAtItsFirstFailedCheck() {
        let funnel = ProcessedOffersSummaryJSON.funnel(
            processedOffers: 10, firstReasons: [.unfulfilledRole, .insufficientCpus, .insufficientCpus, .insufficientPorts])
        #expect(funnel.map(\.reason) == OfferRejectionReason.allCases)
        let byReason = Dictionary(uniqueKeysWithValues: funnel.map { ($0.reason, $0) })
        #expect(byReason[.unfulfilledRole] == RejectionCountJSON(reason: .unfulfilledRole, declined: 1, processed: 10))
        #expect(byReason[.insufficientCpus] == RejectionCountJSON(reason: .insufficientCpus, declined: 2, processed: 9))
        #expect(byReason[.insufficientMemory]?.processed == 7)
        #expect(byReason[.insufficientPorts] == RejectionCountJSON(reason: .insufficientPorts, declined: 1, processed: 7))
        #expect(byReason[.declinedScarceResources]?.processed == 6)
        #expect(OfferRejectionReason.allCases.allSatisfy { !$0.sentence.isEmpty })
    }

    @Test func sseFramesAreOneLine() {
        let frame = MarathonEvent.appTerminated(appId: PathID("/a")).sseFrame(at: now)
        #expect(frame == "event: app_terminated_event\ndata: "
            + #"{"appId":"/a","eventType":"app_terminated_event","timestamp":"2024-05-01T12:00:00.123Z"}"# + "\n\n")
    }
}
