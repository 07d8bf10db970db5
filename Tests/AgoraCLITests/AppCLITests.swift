import Foundation
import Testing
@testable import AgoraCLI

/// The JSON object a manifest produced for one app.
private func object(_ document: AppDefinitionDocument) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: document.body) as? [String: Any])
}

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(json.utf8))
}

@Suite struct AppManifestTests {
    @Test func jsonAppGetsAnAbsoluteID() throws {
        let apps = try AppManifest.parse(#"{"id": "web", "cmd": "sleep 100", "instances": 2}"#, source: "web.json")
        #expect(apps.count == 1)
        #expect(apps[0].id == "/web")
        let app = try object(apps[0])
        #expect(app["id"] as? String == "/web")
        #expect(app["cmd"] as? String == "sleep 100")
        #expect(app["instances"] as? Int == 2)
    }

    @Test func yamlGivesTheSameJSONAsJSON() throws {
        let json = """
            {"id": "/web", "cmd": "python3 -m http.server $PORT0", "instances": 3, "cpus": 0.5, "mem": 128,
             "requirePorts": false, "env": {"MODE": "prod", "EMPTY": null},
             "constraints": [["hostname", "UNIQUE"]],
             "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "intervalSeconds": 5}]}
            """
        let yaml = """
            id: /web
            cmd: python3 -m http.server $PORT0
            instances: 3
            cpus: 0.5
            mem: 128
            requirePorts: false
            env:
              MODE: prod
              EMPTY: null
            constraints:
              - [hostname, UNIQUE]
            healthChecks:
              - protocol: HTTP
                path: /
                portIndex: 0
                intervalSeconds: 5
            """
        let fromJSON = try AppManifest.parse(json, source: "web.json")
        let fromYAML = try AppManifest.parse(yaml, source: "web.yaml")
        #expect(fromJSON == fromYAML)
    }

    @Test func yamlTimestampsStayStringsAndMergeKeysApply() throws {
        let yaml = """
            defaults: &defaults
              cpus: 0.1
              mem: 32
            apps:
              - <<: *defaults
                id: a
                cmd: sleep 1
                labels: {since: 2024-01-02}
              - <<: *defaults
                id: b
                mem: 64
                cmd: sleep 2
            """
        // A mapping with `apps` and no `id` is a list of apps; `defaults` is ignored.
        let apps = try AppManifest.parse(yaml, source: "apps.yml")
        #expect(apps.map(\.id) == ["/a", "/b"])
        let first = try object(apps[0])
        #expect(first["cpus"] as? Double == 0.1)
        #expect((first["labels"] as? [String: Any])?["since"] as? String == "2024-01-02")
        let second = try object(apps[1])
        #expect(second["mem"] as? Int == 64)
    }

    @Test func listsAppsKeyAndYAMLDocumentsAllDeployEachApp() throws {
        #expect(try AppManifest.parse(#"[{"id":"/a","cmd":"x"},{"id":"/g/b","cmd":"y"}]"#, source: "f").map(\.id) == ["/a", "/g/b"])
        #expect(try AppManifest.parse(#"{"apps":[{"id":"a//b/","cmd":"x"}]}"#, source: "f.json").map(\.id) == ["/a/b"])
        #expect(try AppManifest.parse("id: a\ncmd: x\n---\nid: b\ncmd: y\n", source: "f.yaml").map(\.id) == ["/a", "/b"])
    }

    @Test(arguments: [
        (#"{"cmd": "x"}"#, "web.json", "web.json needs an \"id\" string, e.g. \"/web\""),
        (#"[{"id": "/a"}, 3]"#, "two.json", "app #2 in two.json is not an object"),
        (#"[{"id": "/a"}, {"id": "a"}]"#, "dup.json", "dup.json defines the app /a more than once"),
        ("[]", "empty.json", "empty.json contains no apps"),
        (#"{"apps": {"id": "/a"}}"#, "bad.json", "bad.json: \"apps\" must be a list of app objects"),
        ("id: /a\nmem: .inf\n", "inf.yaml", "inf.yaml: /mem is .inf, which JSON cannot represent"),
        ("id: /a\nid: /b\n", "twice.yaml", "twice.yaml is not valid YAML: Parser: expected all keys to be unique"),
        ("id: /a\nenv:\n  1: x\n  \"1\": y\n", "keys.yaml", "keys.yaml: /env has the key \"1\" twice"),
        (#"{"id": "/a", "cmd": }"#, "broken.json", "broken.json is not valid JSON"),
        ("id: [unclosed\n", "broken.yaml", "broken.yaml is not valid YAML"),
    ])
    func badManifestsSayWhatIsWrong(text: String, source: String, message: String) {
        #expect {
            _ = try AppManifest.parse(text, source: source)
        } throws: { error in
            (error as? AppManifestError)?.description.hasPrefix(message) == true
        }
    }
}

@Suite struct DeploymentProgressTests {
    private func status(_ state: String = "running", target: Int = 5, staged: Int = 1, running: Int = 3, healthy: Int = 2,
                        reason: String? = nil) -> DeploymentStatusView {
        DeploymentStatusView(id: "3f2a1b2c-0000-4000-8000-000000000000", appId: "/web", status: state, reason: reason,
                             target: target, staged: staged, running: running, healthy: healthy)
    }

    @Test func runningDeploymentShowsHealthyOfTarget() {
        #expect(DeploymentProgressLine.render(status(), appID: "/web")
            == "[########------------] /web 2/5 healthy  running 3  staged 1  (deployment 3f2a1b2c…)")
    }

    @Test func barFillsWithHealthyInstancesOnly() {
        #expect(DeploymentProgressLine.render(status(healthy: 5), appID: "/web").hasPrefix("[" + String(repeating: "#", count: 20) + "]"))
        #expect(DeploymentProgressLine.render(status("succeeded", healthy: 1), appID: "/web").hasPrefix("[####----------------]"))
        #expect(DeploymentProgressLine.render(status(healthy: 0), appID: "/web").hasPrefix("[" + String(repeating: "-", count: 20) + "]"))
    }

    @Test func removalFillsWhenNothingRunsAnyMore() {
        #expect(DeploymentProgressLine.render(status(target: 0, staged: 0, running: 2, healthy: 0), appID: "/web")
            == "[--------------------] /web stopping  running 2  staged 0  (deployment 3f2a1b2c…)")
        #expect(DeploymentProgressLine.render(status(target: 0, staged: 0, running: 0, healthy: 0), appID: "/web")
            == "[####################] /web stopped  running 0  staged 0  (deployment 3f2a1b2c…)")
    }

    @Test func outcomesNameTheDeploymentAndTheReason() {
        let id = "3f2a1b2c-0000-4000-8000-000000000000"
        #expect(DeploymentProgressLine.outcome(status("succeeded", healthy: 5), appID: "/web")
            == "deployment \(id) succeeded: /web 5/5 healthy")
        #expect(DeploymentProgressLine.outcome(status("failed", reason: "3 instances failed: exit code 1"), appID: "/web")
            == "deployment \(id) of /web failed: 3 instances failed: exit code 1")
        #expect(DeploymentProgressLine.outcome(status("canceled"), appID: "/web")
            == "deployment \(id) of /web was canceled: the server gave no reason")
    }

    @Test func agoraDeploymentStatusDecodes() throws {
        let view = try decode(DeploymentStatusView.self, """
            {"id":"d1","appId":"/web","status":"failed","reason":"timeout","target":5,"staged":1,"running":3,"healthy":2,
             "startedAt":"2024-05-01T12:00:00.000Z","finishedAt":"2024-05-01T12:05:00.000Z"}
            """)
        #expect(view.isFinished)
        #expect(view.reason == "timeout")
        #expect(try decode(DeploymentStatusView.self, #"{"id":"d1","status":"running"}"#).isFinished == false)
    }
}

@Suite struct AppWaitExplanationTests {
    private let now = AppFormat.date("2024-05-01T12:10:00.000Z")!

    @Test func explainsWaitingInstancesOffersAndBackoff() throws {
        let entry = try decode(QueueEntryView.self, """
            {"count": 3, "since": "2024-05-01T12:06:00.000Z", "delay": {"timeLeftSeconds": 42, "overdue": false},
             "app": {"id": "/web", "instances": 5, "cpus": 0.5, "mem": 2048, "constraints": [["hostname", "UNIQUE"]]},
             "processedOffersSummary": {"processedOffersCount": 40, "unusedOffersCount": 40,
               "rejectSummaryLastOffers": [
                 {"reason": "UnfulfilledRole", "declined": 0, "processed": 12},
                 {"reason": "UnfulfilledConstraint", "declined": 4, "processed": 12},
                 {"reason": "InsufficientCpus", "declined": 0, "processed": 8},
                 {"reason": "InsufficientMemory", "declined": 12, "processed": 12}]}}
            """)
        #expect(AppWaitExplanation.explain(entry, now: now) == [
            "3 of 5 instances are waiting for offers, queued 4m ago.",
            "Launches are backed off after failed attempts: the next try is in 42 s.",
            "Of the last 12 offers: 12 had too little memory (app needs 2048 MB), 4 did not meet constraint hostname:UNIQUE.",
        ])
    }

    @Test func explainsPortsRolesAndUnknownReasons() throws {
        let entry = try decode(QueueEntryView.self, """
            {"count": 1, "delay": {"timeLeftSeconds": 0, "overdue": true},
             "app": {"id": "/api", "instances": 1, "requirePorts": true, "portDefinitions": [{"port": 8080}, {"port": 8081}],
                     "acceptedResourceRoles": ["web"]},
             "processedOffersSummary": {"rejectSummaryLastOffers": [
                 {"reason": "InsufficientPorts", "declined": 2, "processed": 3},
                 {"reason": "UnfulfilledRole", "declined": 1, "processed": 3},
                 {"reason": "SomethingNew", "declined": 1, "processed": 3}]}}
            """)
        #expect(AppWaitExplanation.explain(entry, now: now) == [
            "1 of 1 instance is waiting for offers.",
            "Of the last 3 offers: 2 had too few free ports (app needs 2 ports: exactly 8080, 8081), 1 was for roles the app does not accept (it accepts web), 1 was rejected with reason SomethingNew.",
        ])
    }

    @Test func saysWhenRecentOffersWereFine() throws {
        let one = try decode(QueueEntryView.self, """
            {"count": 1, "app": {"id": "/w", "instances": 1},
             "processedOffersSummary": {"processedOffersCount": 1, "rejectSummaryLastOffers": [{"reason": "InsufficientCpus", "declined": 0, "processed": 1}]}}
            """)
        #expect(AppWaitExplanation.explain(one, now: now).last == "The last offer was not rejected, so launches should follow shortly.")
    }

    @Test func aSingleRejectedOfferIsOneSentence() throws {
        let entry = try decode(QueueEntryView.self, """
            {"count": 30, "app": {"id": "/w", "instances": 50, "cpus": 0.1},
             "processedOffersSummary": {"rejectSummaryLastOffers": [{"reason": "InsufficientCpus", "declined": 1, "processed": 1}]}}
            """)
        #expect(AppWaitExplanation.explain(entry, now: now) == [
            "30 of 50 instances are waiting for offers.",
            "The last offer was rejected: it had too few CPUs (app needs 0.1).",
        ])
    }

    @Test func saysWhenNoOfferArrivedYet() throws {
        let entry = try decode(QueueEntryView.self, #"{"count": 2, "app": {"id": "/w", "instances": 2}}"#)
        #expect(AppWaitExplanation.explain(entry, now: now) == [
            "2 of 2 instances are waiting for offers.",
            "No offer has reached this app yet: the cluster may have no free resources, or they are being offered to other frameworks.",
        ])
    }

    @Test func nothingWaitingCountsRunningInstances() throws {
        let app = try decode(AppView.self, #"{"id": "/web", "instances": 3, "tasksRunning": 3, "deployments": []}"#)
        #expect(AppWaitExplanation.nothingWaiting(app) == "nothing is waiting: 3/3 instances running")
        let deploying = try decode(AppView.self, #"{"id": "/web", "instances": 3, "tasksRunning": 1, "deployments": [{"id": "d9"}]}"#)
        #expect(AppWaitExplanation.nothingWaiting(deploying) == "nothing is waiting: 1/3 instances running; deployment d9 is in progress")
    }
}

@Suite struct MarathonErrorTextTests {
    @Test func validationErrorsListEachPath() {
        let body = Data("""
            {"message":"Object is not valid","details":[{"path":"/mem","errors":["got -1, expected 0.0 or more"]},
             {"path":"/upgradeStrategy/minimumHealthCapacity","errors":["is greater than 1","must be a number"]}]}
            """.utf8)
        #expect(MarathonErrorText.describe(status: 422, body: body) == """
            Object is not valid
              /mem: got -1, expected 0.0 or more
              /upgradeStrategy/minimumHealthCapacity: is greater than 1; must be a number
            """)
    }

    @Test func lockedAppSuggestsForce() {
        let body = Data(#"{"message":"App is locked by one or more deployments. Override with the option '?force=true'.","deployments":[{"id":"d1"}]}"#.utf8)
        let text = MarathonErrorText.describe(status: 409, body: body)
        #expect(text.hasSuffix("pass --force to cancel it and apply this change"))
        #expect(!MarathonErrorText.describe(status: 409, body: Data(#"{"message":"An app with id [/x] already exists."}"#.utf8)).contains("--force"))
    }

    @Test func stringDetailsAndPlainBodies() {
        #expect(MarathonErrorText.describe(status: 400, body: Data(#"{"message":"Invalid JSON","details":"Unexpected end"}"#.utf8))
            == "Invalid JSON: Unexpected end")
        #expect(MarathonErrorText.describe(status: 502, body: Data("bad gateway\n".utf8)) == "HTTP 502: bad gateway")
        #expect(MarathonErrorText.describe(status: 500, body: Data()) == "HTTP 500")
    }
}

@Suite struct AppCommandPiecesTests {
    @Test func deploymentIDComesFromTheHeaderOrTheBody() {
        #expect(deploymentID(of: HTTPReply(status: 201, headers: ["marathon-deployment-id": "h1"], body: Data(#"{"deploymentId":"b1"}"#.utf8))) == "h1")
        #expect(deploymentID(of: HTTPReply(status: 200, headers: [:], body: Data(#"{"version":"v","deploymentId":"b1"}"#.utf8))) == "b1")
        #expect(deploymentID(of: HTTPReply(status: 201, headers: [:], body: Data(#"{"id":"/a","deployments":[{"id":"p1"}]}"#.utf8))) == "p1")
        #expect(deploymentID(of: HTTPReply(status: 200, headers: [:], body: Data(#"{"tasks":[]}"#.utf8))) == nil)
    }

    @Test func newestRunningTaskIsChosenForLogs() throws {
        let tasks = try decode(TaskListView.self, """
            {"tasks":[{"id":"a","state":"TASK_RUNNING","startedAt":"2024-05-01T12:00:00.000Z"},
                      {"id":"b","state":"TASK_RUNNING","startedAt":"2024-05-01T12:05:00.000Z"},
                      {"id":"c","state":"TASK_FAILED","startedAt":"2024-05-01T12:09:00.000Z"}]}
            """).tasks
        let chosen = try #require(AppLogs.newestTask(tasks))
        #expect(chosen.task.id == "b" && chosen.running)
        let fallback = try #require(AppLogs.newestTask(tasks.filter { $0.state != "TASK_RUNNING" }))
        #expect(fallback.task.id == "c" && !fallback.running)
        #expect(AppLogs.newestTask([]) == nil)
    }

    @Test func appTableShowsCountsAndTruncatesCommands() throws {
        let apps = try decode(AppListView.self, """
            {"apps":[{"id":"/web","cmd":"python3 -m http.server $PORT0 --bind 0.0.0.0 --directory /srv/www/public",
                      "instances":5,"cpus":0.5,"mem":128,"tasksRunning":3,"tasksHealthy":2,
                      "healthChecks":[{"protocol":"HTTP"}],"deployments":[{"id":"d"}]},
                     {"id":"/worker","args":["sleep","100"],"instances":1,"cpus":1,"mem":64,"tasksRunning":1,"deployments":[]}]}
            """).apps
        let lines = AppTables.apps(apps).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines[0] == ["ID", "INSTANCES", "HEALTHY", "CPUS", "MEM", "DEPLOYING", "CMD"])
        #expect(Array(lines[1].prefix(6)) == ["/web", "3/5", "2", "0.5", "128", "yes"])
        #expect(lines[1].last?.hasSuffix("…") == true)
        #expect(lines[2] == ["/worker", "1/1", "-", "1", "64", "no", "sleep", "100"])
    }

    @Test func taskHealthAndAges() throws {
        let now = try #require(AppFormat.date("2024-05-01T12:10:00.000Z"))
        let tasks = try decode(TaskListView.self, """
            {"tasks":[{"id":"t1","host":"h1","state":"TASK_RUNNING","ports":[31000,31001],"startedAt":"2024-05-01T12:09:18.500Z",
                       "healthCheckResults":[{"alive":true}]},
                      {"id":"t2","state":"TASK_STAGING","healthCheckResults":[{"alive":false}]}]}
            """).tasks
        let rows = AppTables.tasks(tasks, now: now).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows[1] == ["t1", "h1", "TASK_RUNNING", "healthy", "31000,31001", "41s", "ago"])
        #expect(rows[2] == ["t2", "-", "TASK_STAGING", "unhealthy", "-", "-"])
        #expect(AppFormat.age("2024-04-29T12:10:00Z", now: now) == "2d ago")
        #expect(AppFormat.age("yesterday", now: now) == "yesterday")
    }

    @Test func appPathsAreEncodedPerSegment() {
        #expect(MarathonClient.appPath("web") == "/v2/apps/web")
        #expect(MarathonClient.appPath("/group//web/", suffix: "/tasks") == "/v2/apps/group/web/tasks")
        #expect(MarathonClient.encodedPath("/a b/c?d") == "/a%20b/c%3Fd")
    }

    @Test func marathonURLMustBeHTTP() throws {
        #expect(try MarathonClient(baseURL: "http://127.0.0.1:8080/").baseURL == "http://127.0.0.1:8080")
        #expect(throws: AppCommandError.self) { try MarathonClient(baseURL: "127.0.0.1:8080") }
    }
}
