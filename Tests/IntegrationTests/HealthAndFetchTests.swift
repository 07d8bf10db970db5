import AgoraProto
import Foundation
import Framework
import Resources
import Testing

/// The built-in executor's health checks and URI fetching, and reading task files
/// through the agent, with real `agora` processes.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct HealthAndFetchTests {
    /// A one-agent cluster, a subscribed raw framework and its first offer.
    private func withOffer(_ body: (TestCluster, RawFramework, Agora_V1_Offer) async throws -> Void) async throws {
        try await TestCluster.with(agentResources: ["cpus:2;mem:2048"]) { cluster in
            let framework = try RawFramework(master: cluster.masterAddress)
            do {
                _ = try await framework.subscribe(name: "health-and-fetch")
                let offer = try await framework.next { $0.type == .offers }.offers.offers[0]
                try await body(cluster, framework, offer)
            } catch {
                await framework.shutdown()
                throw error
            }
            await framework.shutdown()
        }
    }

    private func kill(_ taskID: String, agentID: String, framework: RawFramework) async throws {
        var call = Agora_V1_Scheduler_Call()
        call.type = .kill
        call.kill.taskID.value = taskID
        call.kill.agentID.value = agentID
        try await framework.send(call)
    }

    /// The task's stdout once it reads `expected`, or what it held at the deadline:
    /// the agent publishes `/state` every half second, and the output may come later still.
    private func stdout(of taskID: String, frameworkID: String, agentHTTP: String, once expected: String) async throws -> String {
        var output = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while output != expected, ContinuousClock.now < deadline {
            do {
                let data = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: taskID, file: "stdout")
                output = String(decoding: data, as: UTF8.self)
            } catch let error as TaskFilesError where error.code == .taskNotFound {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return output
    }

    @Test func anHTTPHealthCheckAgainstTheTasksServerReportsHealthy() async throws {
        try await withOffer { cluster, framework, offer in
            let agentID = cluster.agentIDs[0]
            let port = cluster.agentPorts[0].lowerBound + 5
            var task = RawFramework.task("web", agentID: agentID,
                                         command: "exec python3 -m http.server $PORT0 --bind 127.0.0.1",
                                         resources: "cpus:0.2;mem:128;ports:[\(port)-\(port)]")
            task.healthCheck.type = .http
            task.healthCheck.http.port = UInt32(port)
            task.healthCheck.http.path = "/"
            task.healthCheck.delaySeconds = 0
            task.healthCheck.intervalSeconds = 0.5
            task.healthCheck.timeoutSeconds = 2
            task.healthCheck.gracePeriodSeconds = 30
            try await framework.accept(offerIDs: [offer.id.value], tasks: [task])

            let running = try await framework.update(for: "web")
            #expect(running.state == .taskRunning, "\(running)")
            #expect(!running.hasHealthy, "the start is reported before any health result")
            let health = try await framework.next(timeout: .seconds(30)) { event in
                event.type == .update && event.update.status.taskID.value == "web" && event.update.status.hasHealthy
            }.update.status
            #expect(health.state == .taskRunning)
            #expect(health.healthy)
            #expect(health.reason == .taskHealthCheckStatusUpdated)

            try await kill("web", agentID: agentID, framework: framework)
            let killed = try await framework.next { $0.type == .update && $0.update.status.state == .taskKilled }.update.status
            #expect(killed.taskID.value == "web")
        }
    }

    @Test func aFailingCommandCheckKillsTheTaskAfterTheAllowedFailures() async throws {
        try await withOffer { cluster, framework, offer in
            var task = RawFramework.task("sick", agentID: cluster.agentIDs[0], command: "exec sleep 60")
            task.healthCheck.type = .command
            task.healthCheck.command.value = "test -f healthy-marker"
            task.healthCheck.delaySeconds = 0
            task.healthCheck.intervalSeconds = 0.2
            task.healthCheck.timeoutSeconds = 5
            task.healthCheck.gracePeriodSeconds = 0
            task.healthCheck.consecutiveFailures = 2
            try await framework.accept(offerIDs: [offer.id.value], tasks: [task])

            let unhealthy = try await framework.next(timeout: .seconds(30)) { event in
                event.type == .update && event.update.status.taskID.value == "sick" && event.update.status.hasHealthy
            }.update.status
            #expect(unhealthy.state == .taskRunning)
            #expect(!unhealthy.healthy)
            #expect(unhealthy.reason == .taskHealthCheckStatusUpdated)

            let killed = try await framework.next(timeout: .seconds(30)) { event in
                event.type == .update && event.update.status.taskID.value == "sick" && event.update.status.state.isTerminal
            }.update.status
            #expect(killed.state == .taskKilled, "\(killed)")
            #expect(killed.hasHealthy && !killed.healthy)
            #expect(killed.message.contains("the health check failed 2 times in a row"), "message: \(killed.message)")
            #expect(killed.message.contains("command check `test -f healthy-marker` exited with status 1"),
                    "message: \(killed.message)")
        }
    }

    @Test func fetchedURIsAreInTheTasksDirectoryAndABadOneFailsTheTask() async throws {
        try await withOffer { cluster, framework, offer in
            let sources = cluster.workDir + "/sources"
            try FileManager.default.createDirectory(atPath: sources + "/data", withIntermediateDirectories: true)
            try Data("#!/bin/sh\necho fetched script ran\n".utf8).write(to: URL(fileURLWithPath: sources + "/run.sh"))
            try Data("hello\n".utf8).write(to: URL(fileURLWithPath: sources + "/data/greeting.txt"))
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = ["tar", "-czf", sources + "/bundle.tar.gz", "-C", sources, "data"]
            try tar.run()
            tar.waitUntilExit()
            #expect(tar.terminationStatus == 0)

            let agentID = cluster.agentIDs[0]
            var fetching = RawFramework.task("fetching", agentID: agentID,
                                             command: "./run.sh && grep -q hello data/greeting.txt")
            var script = Agora_V1_CommandInfo.URI()
            script.value = "file://" + sources + "/run.sh"
            script.executable = true
            var bundle = Agora_V1_CommandInfo.URI()
            bundle.value = sources + "/bundle.tar.gz"
            fetching.command.uris = [script, bundle]

            var broken = RawFramework.task("broken", agentID: agentID, command: "touch started; sleep 60",
                                           resources: "cpus:0.1;mem:32")
            var missing = Agora_V1_CommandInfo.URI()
            missing.value = sources + "/no-such-file"
            broken.command.uris = [missing]
            try await framework.accept(offerIDs: [offer.id.value], tasks: [fetching, broken])

            let finished = try await framework.next(timeout: .seconds(30)) { event in
                event.type == .update && event.update.status.taskID.value == "fetching" && event.update.status.state.isTerminal
            }.update.status
            #expect(finished.state == .taskFinished, "\(finished)")

            let failed = try await framework.next(timeout: .seconds(30)) { event in
                event.type == .update && event.update.status.taskID.value == "broken" && event.update.status.state.isTerminal
            }.update.status
            #expect(failed.state == .taskFailed)
            #expect(failed.reason == .containerLaunchFailed)
            #expect(failed.message.contains("could not fetch \(sources)/no-such-file"), "message: \(failed.message)")
            #expect(failed.message.contains("does not exist"), "message: \(failed.message)")
            // The command never ran.
            let started = FileManager.default.enumerator(atPath: cluster.workDir)?.compactMap { $0 as? String }
                .filter { $0.hasSuffix("/started") } ?? []
            #expect(started.isEmpty, "the broken task's command ran: \(started)")
        }
    }

    @Test func taskFilesReadsARunningTasksStdoutThroughTheAgent() async throws {
        try await withOffer { cluster, framework, offer in
            let agentID = cluster.agentIDs[0]
            let agentHTTP = offer.url.path
            #expect(agentHTTP.hasPrefix("http://"), "Offer.url.path: \(agentHTTP)")
            let task = RawFramework.task("talker", agentID: agentID, command: "echo hello-taskfiles; exec sleep 60")
            try await framework.accept(offerIDs: [offer.id.value], tasks: [task])
            _ = try await framework.next { $0.type == .update && $0.update.status.state == .taskRunning }
            let frameworkID = await framework.frameworkID

            let output = try await stdout(of: "talker", frameworkID: frameworkID, agentHTTP: agentHTTP,
                                          once: "hello-taskfiles\n")
            #expect(output == "hello-taskfiles\n")

            let slice = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: "talker",
                                                 file: "stdout", offset: 6, length: 9)
            #expect(String(decoding: slice, as: UTF8.self) == "taskfiles")
            let pastTheEnd = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: "talker",
                                                      file: "stdout", offset: 1_000)
            #expect(pastTheEnd.isEmpty)

            do {
                _ = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: "talker", file: "no-such-file")
                Issue.record("a missing file was read")
            } catch let error as TaskFilesError {
                #expect(error.code == .fileNotFound, "\(error)")
            }
            do {
                _ = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: "nobody", file: "stdout")
                Issue.record("an unknown task was read")
            } catch let error as TaskFilesError {
                #expect(error.code == .taskNotFound)
                #expect(error.description.contains("does not know task nobody"), "\(error)")
            }
            do {
                _ = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: "talker", file: "../../x")
                Issue.record("a path leaving the task's directory was read")
            } catch let error as TaskFilesError {
                #expect(error.code == .invalidRequest)
            }

            try await kill("talker", agentID: agentID, framework: framework)
            _ = try await framework.next { $0.type == .update && $0.update.status.state == .taskKilled }
        }
    }

    @Test func taskFilesReadsEachTaskOfAGroupFromItsOwnDirectory() async throws {
        try await withOffer { cluster, framework, offer in
            let agentID = cluster.agentIDs[0]
            var executor = Agora_V1_ExecutorInfo()
            executor.type = .default
            executor.executorID.value = "pair"
            executor.resources = try Resources(parsing: "cpus:0.1;mem:32").proto
            try await framework.acceptGroup(offerID: offer.id.value, executor: executor, tasks: [
                RawFramework.task("left", agentID: agentID, command: "echo from-left; exec sleep 60"),
                RawFramework.task("right", agentID: agentID, command: "echo from-right; exec sleep 60"),
            ])
            #expect(try await framework.update(for: "left").state == .taskRunning)
            #expect(try await framework.update(for: "right").state == .taskRunning)
            let frameworkID = await framework.frameworkID
            #expect(try await stdout(of: "left", frameworkID: frameworkID, agentHTTP: offer.url.path, once: "from-left\n")
                == "from-left\n")
            #expect(try await stdout(of: "right", frameworkID: frameworkID, agentHTTP: offer.url.path, once: "from-right\n")
                == "from-right\n")
            for taskID in ["left", "right"] {
                try await kill(taskID, agentID: agentID, framework: framework)
                let killed = try await framework.next { event in
                    event.type == .update && event.update.status.taskID.value == taskID && event.update.status.state.isTerminal
                }.update.status
                #expect(killed.state == .taskKilled)
            }
        }
    }
}
