import Foundation
import Testing

/// `agora marathon` against a real master and agents: deployments, healing, scaling,
/// rolling upgrades, failures, restarts, validation and the Python client.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct MarathonTests {
    static let agents = ["cpus:2;mem:2048", "cpus:2;mem:2048"]

    /// A web server per instance with an HTTP health check on its port.
    static func webApp(_ id: String, instances: Int, env: [String: String] = [:],
                       upgrade: [String: Double]? = nil) -> [String: Any] {
        var app: [String: Any] = [
            "id": id, "cmd": "exec python3 -m http.server $PORT0 --bind 127.0.0.1", "instances": instances,
            "cpus": 0.1, "mem": 48, "env": env,
            "healthChecks": [["protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 30,
                              "intervalSeconds": 1, "timeoutSeconds": 2, "maxConsecutiveFailures": 3]],
        ]
        if let upgrade { app["upgradeStrategy"] = upgrade }
        return app
    }

    /// Tasks the master reports as running.
    static func runningTasks(_ state: [String: Any]) -> Int {
        (state["tasks"] as? [[String: Any]] ?? []).filter { ($0["state"] as? String) == "TASK_RUNNING" }.count
    }

    static func healthy(_ count: Int) -> ([String: Any]) -> Bool {
        { $0.int("tasksHealthy") == count && $0.int("tasksRunning") == count && $0.deploymentIDs.isEmpty }
    }

    @Test("3 instances run and turn healthy; a killed one is replaced; scale to 10 and to 0")
    func deployHealAndScale() async throws {
        try await TestCluster.with(agentResources: Self.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster)
            defer { Task { await marathon.stop() } }
            let created = try await marathon.request("POST", "/v2/apps", json: Self.webApp("/web", instances: 3))
            #expect(created.status == 201)
            #expect(created.headers["location"] == "/web")
            #expect(created.headers["marathon-deployment-id"] != nil)

            let app = try #require(try await marathon.waitForApp("/web", Self.healthy(3)))
            let before = app.taskIDs
            #expect(Set(app.tasks.compactMap { $0["host"] as? String }) == ["127.0.0.1"])

            let victim = try #require(before.first)
            let killed = try await marathon.request("DELETE", "/v2/apps/web/tasks/\(victim)")
            #expect(killed.status == 200)
            #expect((killed.object["task"] as? [String: Any])?["id"] as? String == victim)
            let healed = try #require(try await marathon.waitForApp("/web") {
                Self.healthy(3)($0) && !$0.taskIDs.contains(victim)
            })
            #expect(healed.taskIDs.intersection(before).count == 2, "only the killed instance is replaced")

            let scaleUp = try await marathon.request("PUT", "/v2/apps/web", json: ["instances": 10])
            #expect(scaleUp.status == 200)
            #expect(scaleUp.object["deploymentId"] is String)
            let scaled = try #require(try await marathon.waitForApp("/web", timeout: .seconds(90), Self.healthy(10)))
            #expect(scaled.taskIDs.isSuperset(of: healed.taskIDs), "scaling up keeps the running instances")

            _ = try await marathon.request("PUT", "/v2/apps//web?force=True", json: ["instances": 0])
            try await marathon.waitForApp("/web") { $0.int("tasksRunning") == 0 && $0.tasks.isEmpty && $0.deploymentIDs.isEmpty }
            let drained = try await cluster.waitForState { Self.runningTasks($0) == 0 }
            #expect(drained, "the master runs nothing for the app after scaling to 0")
        }
    }

    @Test("a rolling upgrade with minimumHealthCapacity 0.5 never drops below half healthy")
    func rollingUpgradeKeepsHalfHealthy() async throws {
        try await TestCluster.with(agentResources: Self.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster)
            defer { Task { await marathon.stop() } }
            let upgrade = ["minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0]
            _ = try await marathon.request("POST", "/v2/apps",
                                           json: Self.webApp("/roll", instances: 4, env: ["RELEASE": "1"], upgrade: upgrade))
            let first = try #require(try await marathon.waitForApp("/roll", Self.healthy(4)))
            let firstVersion = first["version"] as? String

            let update = try await marathon.request("PUT", "/v2/apps/roll", json: ["env": ["RELEASE": "2"]])
            #expect(update.status == 200)
            let deploymentID = try #require(update.object["deploymentId"] as? String)
            var lowest = Int.max
            var samples = 0
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                let status = try await marathon.deployment(deploymentID)
                let app = try await marathon.app("/roll") ?? [:]
                lowest = min(lowest, app.int("tasksHealthy"))
                samples += 1
                if status["status"] as? String != "running" {
                    #expect(status["status"] as? String == "succeeded")
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(samples > 5, "the upgrade was sampled while it ran")
            #expect(lowest >= 2, "healthy instances dropped to \(lowest) of 4 during the upgrade")
            let done = try #require(try await marathon.waitForApp("/roll", Self.healthy(4)))
            #expect(done.tasks.allSatisfy { ($0["version"] as? String) != firstVersion }, "every instance runs the new version")
            #expect(done.taskIDs.isDisjoint(with: first.taskIDs))
        }
    }

    @Test("a failing app backs off and its deployment fails with a reason")
    func failingAppFailsItsDeployment() async throws {
        try await TestCluster.with(agentResources: Self.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster, flags: ["--deployment-timeout", "6s"])
            defer { Task { await marathon.stop() } }
            let created = try await marathon.request("POST", "/v2/apps", json: [
                "id": "/broken", "cmd": "echo starting; exit 3", "instances": 2, "cpus": 0.1, "mem": 16,
                "backoffSeconds": 1, "backoffFactor": 2, "maxLaunchDelaySeconds": 30,
            ])
            let deploymentID = try #require(created.headers["marathon-deployment-id"])
            let deadline = ContinuousClock.now + .seconds(60)
            var status: [String: Any] = [:]
            while ContinuousClock.now < deadline {
                status = try await marathon.deployment(deploymentID)
                if status["status"] as? String != "running" { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(status["status"] as? String == "failed")
            let reason = status["reason"] as? String ?? ""
            #expect(reason.contains("no progress"), "reason: \(reason)")
            #expect(reason.contains("TASK_FAILED"), "the reason names the last failure: \(reason)")

            let app = try #require(try await marathon.app("/broken"))
            let failure = try #require(app["lastTaskFailure"] as? [String: Any])
            #expect(failure["state"] as? String == "TASK_FAILED")
            #expect(app.deploymentIDs.isEmpty, "a failed deployment no longer locks the app")
            let queue = try await marathon.request("GET", "/v2/queue").object["queue"] as? [[String: Any]] ?? []
            let entry = try #require(queue.first { ($0["app"] as? [String: Any])?["id"] as? String == "/broken" })
            let delay = try #require(entry["delay"] as? [String: Any])
            #expect(delay["timeLeftSeconds"] != nil)
            // The back-off grows: 1, 2, 4 … seconds, so a few failures took a while, not a tight loop.
            let launched = try await cluster.metric("agora_master_tasks_launched_total") ?? 0
            #expect(launched < 20, "a failing app is relaunched under back-off, not in a tight loop (\(launched) launches)")
        }
    }

    @Test("a restarted agora marathon keeps its framework ID and loses or duplicates no instance")
    func restartLosesAndDuplicatesNothing() async throws {
        try await TestCluster.with(agentResources: Self.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster)
            let frameworkID = try await marathon.request("GET", "/v2/info").object["frameworkId"] as? String
            _ = try await marathon.request("POST", "/v2/apps", json: [
                "id": "/sleepy", "cmd": "sleep 3600", "instances": 3, "cpus": 0.1, "mem": 16,
            ])
            let before = try #require(try await marathon.waitForApp("/sleepy") {
                $0.int("tasksRunning") == 3 && $0.deploymentIDs.isEmpty
            })
            marathon.process.signal(SIGKILL)
            _ = await marathon.process.waitForExit()

            let restarted = try await MarathonProcess.start(cluster: cluster, workDir: marathon.workDir)
            defer { Task { await restarted.stop() } }
            #expect(try await restarted.request("GET", "/v2/info").object["frameworkId"] as? String == frameworkID)
            let after = try #require(try await restarted.waitForApp("/sleepy") { $0.int("tasksRunning") == 3 })
            #expect(after.taskIDs == before.taskIDs, "the same three tasks, none replaced")
            #expect(Self.runningTasks(try await cluster.state()) == 3)
            #expect(try await restarted.app("/sleepy")?.taskIDs == before.taskIDs)
        }
    }

    @Test("agora app deploy waits for the deployment: exit 0 when it succeeds, 1 with the reason when it fails")
    func cliDeployExitCodes() async throws {
        try await TestCluster.with(agentResources: Self.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster, flags: ["--deployment-timeout", "5s"])
            defer { Task { await marathon.stop() } }
            let good = cluster.workDir + "/good.yaml"
            try "id: /cli-good\ncmd: sleep 300\ninstances: 2\ncpus: 0.1\nmem: 16\n"
                .write(toFile: good, atomically: true, encoding: .utf8)
            let deploy = try DaemonProcess(["app", "deploy", good, "--marathon", marathon.url], name: "app-deploy")
            #expect(await deploy.waitForExit(timeout: .seconds(60)) == 0, "\(deploy.stdout)\(deploy.stderr)")
            #expect(deploy.stdout.contains("succeeded"))
            #expect(try await marathon.app("/cli-good")?.int("tasksRunning") == 2)

            let bad = cluster.workDir + "/bad.json"
            try #"{"id": "/cli-bad", "cmd": "exit 1", "cpus": 0.1, "mem": 16}"#.write(toFile: bad, atomically: true, encoding: .utf8)
            let failing = try DaemonProcess(["app", "deploy", bad, "--marathon", marathon.url], name: "app-deploy-bad")
            #expect(await failing.waitForExit(timeout: .seconds(60)) == 1)
            #expect(failing.stderr.contains("no progress"), "\(failing.stderr)")

            let invalid = cluster.workDir + "/invalid.json"
            try #"{"id": "/cli-invalid", "cmd": "true", "mem": -5}"#.write(toFile: invalid, atomically: true, encoding: .utf8)
            let refused = try DaemonProcess(["app", "deploy", invalid, "--marathon", marathon.url], name: "app-deploy-invalid")
            #expect(await refused.waitForExit(timeout: .seconds(30)) == 2)
            #expect((refused.stdout + refused.stderr).contains("/mem"))
        }
    }

    @Test("bad requests get Marathon's errors naming the field")
    func badRequests() async throws {
        try await TestCluster.with(agentResources: Self.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster)
            defer { Task { await marathon.stop() } }
            let negative = try await marathon.request("POST", "/v2/apps",
                                                      json: ["id": "/bad", "cmd": "true", "cpus": -1])
            #expect(negative.status == 422)
            let details = negative.object["details"] as? [[String: Any]] ?? []
            #expect(details.contains { $0["path"] as? String == "/cpus" }, "\(negative.text)")

            let badID = try await marathon.request("POST", "/v2/apps", json: ["id": "/Bad_Name", "cmd": "true"])
            #expect(badID.status == 422)
            #expect((badID.object["details"] as? [[String: Any]] ?? []).contains { $0["path"] as? String == "/id" })

            let wrongType = try await marathon.request("POST", "/v2/apps", json: ["id": "/x", "cmd": "true", "instances": "three"])
            #expect(wrongType.status == 422)
            #expect(wrongType.text.contains("/instances"))

            let malformed = try await marathon.request("POST", "/v2/apps", raw: "{\"id\": ")
            #expect(malformed.status == 400)
            #expect(malformed.object["message"] as? String == "Invalid JSON")

            let image = try await marathon.request("POST", "/v2/apps", json: [
                "id": "/img", "container": ["type": "DOCKER", "docker": ["image": "nginx"]],
            ])
            #expect(image.status == 422)
            #expect(image.text.contains("image"), "\(image.text)")

            let missing = try await marathon.request("GET", "/v2/apps/nope")
            #expect(missing.status == 404)
            #expect(missing.object["message"] as? String == "App '/nope' does not exist")

            _ = try await marathon.request("POST", "/v2/apps", json: ["id": "/dup", "cmd": "sleep 60", "cpus": 0.1, "mem": 16])
            let duplicate = try await marathon.request("POST", "/v2/apps", json: ["id": "/dup", "cmd": "sleep 60"])
            #expect(duplicate.status == 409)
            // Its deployment runs for at least 2 s (an app without checks must run that long).
            let locked = try await marathon.request("PUT", "/v2/apps/dup", json: ["cmd": "sleep 61"])
            #expect(locked.status == 409, "\(locked.text)")
            #expect((locked.object["deployments"] as? [[String: Any]])?.isEmpty == false)
            #expect(try await marathon.request("GET", "/ping").text == "pong")
            #expect(marathon.process.isRunning, "bad input never takes the daemon down")
        }
    }
}
