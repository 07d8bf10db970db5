import AgoraProto
import Foundation
import Testing

/// The Framework SDK against real daemons, through the example frameworks.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FrameworkSDKTests {
    static var batchFramework: URL { AgoraBinary.url.deletingLastPathComponent().appendingPathComponent("BatchFramework") }

    @Test func aRestartedFrameworkResumesItsIDReconcilesAndLaunchesNothingTwice() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"]) { cluster in
            let stateDir = cluster.workDir + "/batch-state"
            let jobsFile = cluster.workDir + "/jobs.json"
            // "long" runs until the test releases it: on a loaded machine a fixed sleep
            // could end (and the whole first run with it) before the kill.
            let release = cluster.workDir + "/release-long"
            try Data("""
                [{"name": "long", "command": "while [ ! -e \(release) ]; do sleep 0.1; done"},
                 {"name": "quick", "command": "true"}]
                """.utf8).write(to: URL(fileURLWithPath: jobsFile))

            let first = try DaemonProcess([cluster.masterAddress, jobsFile, stateDir], name: "batch1",
                                          executable: Self.batchFramework)
            let subscribed = try #require(await first.line(containing: "subscribed as"), "stdout: \(first.stdout)")
            let frameworkID = try #require(subscribed.split(separator: " ").last.map(String.init))
            _ = try #require(await first.line(containing: "long-attempt-1 TASK_RUNNING"), "stdout: \(first.stdout)")
            first.signal(SIGKILL)
            _ = await first.waitForExit()
            let saved = (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []
            #expect(saved.contains("framework-id"), "the first run saved \(saved) in \(stateDir); stdout: \(first.stdout)")

            let second = try DaemonProcess([cluster.masterAddress, jobsFile, stateDir], name: "batch2",
                                           executable: Self.batchFramework)
            let resubscribed = try #require(await second.line(containing: "subscribed as"), "stdout: \(second.stdout)")
            #expect(resubscribed.hasSuffix(frameworkID), "resubscribed as: \(resubscribed)")
            _ = try #require(await second.line(containing: "reconciling"), "stdout: \(second.stdout)")
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            #expect(await second.waitForExit(timeout: .seconds(60)) == 0, "stdout: \(second.stdout)")
            #expect(second.stdout.contains("long-attempt-1 TASK_FINISHED"))
            #expect(second.stdout.contains("2 of 2 job(s) succeeded"))
            // Nothing launched twice: no second attempt, and the restarted framework
            // launched nothing that the first had launched.
            #expect(!(first.stdout + second.stdout).contains("attempt-2"))
            #expect(!second.stdout.contains("launching long"))
            let state = try await cluster.state()
            let completed = (state["completedTasks"] as? [[String: Any]]) ?? []
            #expect(completed.filter { ($0["id"] as? String)?.hasPrefix("long") == true }.count == 1)
        }
    }

    @Test func aDeclinedAgentIsNotOfferedToThatFrameworkUntilTheFilterExpires() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"]) { cluster in
            let decliner = try RawFramework(master: cluster.masterAddress)
            _ = try await decliner.subscribe(name: "decliner")
            let offer = try await decliner.next { $0.type == .offers }.offers.offers[0]
            var decline = Agora_V1_Scheduler_Call()
            decline.type = .decline
            decline.decline.offerIds = [offer.id]
            decline.decline.filters.refuseSeconds = 3
            try await decliner.send(decline)
            let declinedAt = ContinuousClock.now

            // Another framework gets the agent meanwhile.
            let other = try RawFramework(master: cluster.masterAddress)
            _ = try await other.subscribe(name: "other")
            let otherOffer = try await other.next(timeout: .seconds(5)) { $0.type == .offers }.offers.offers[0]
            #expect(otherOffer.agentID == offer.agentID)
            var otherDecline = Agora_V1_Scheduler_Call()
            otherDecline.type = .decline
            otherDecline.decline.offerIds = [otherOffer.id]
            otherDecline.decline.filters.refuseSeconds = 60
            try await other.send(otherDecline)

            // The decliner sees the agent again only after its filter has expired.
            let again = try await decliner.next(timeout: .seconds(15)) { $0.type == .offers }
            let waited = ContinuousClock.now - declinedAt
            #expect(again.offers.offers[0].agentID == offer.agentID)
            #expect(waited >= .seconds(3), "re-offered after \(waited)")
            await decliner.shutdown()
            await other.shutdown()
        }
    }

    @Test func unacknowledgedUpdatesAreRedeliveredAfterTheFrameworkRestarts() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"], agentFlags: ["--status-update-retry", "500ms"]) { cluster in
            let first = try RawFramework(master: cluster.masterAddress, autoAcknowledge: false)
            let frameworkID = try await first.subscribe(name: "forgetful", failoverTimeout: 60)
            let offer = try await first.next { $0.type == .offers }.offers.offers[0]
            try await first.accept(offerIDs: [offer.id.value],
                                   tasks: [RawFramework.task("patient", agentID: offer.agentID.value, command: "sleep 1")])
            let running = try await first.update(for: "patient")
            #expect(running.state == .taskRunning)
            #expect(running.hasUuid)
            await first.shutdown()  // gone without acknowledging

            let second = try RawFramework(master: cluster.masterAddress, autoAcknowledge: true)
            #expect(try await second.subscribe(name: "forgetful", resuming: frameworkID, failoverTimeout: 60) == frameworkID)
            let redelivered = try await second.update(for: "patient")
            #expect(redelivered.state == .taskRunning)
            #expect(redelivered.uuid == running.uuid)
            let finished = try await second.update(for: "patient")
            #expect(finished.state == .taskFinished)
            await second.shutdown()
        }
    }

    @Test func aCustomExecutorsTaskRunsAndFinishesAndItsMessagesArrive() async throws {
        let program = AgoraBinary.url.deletingLastPathComponent().appendingPathComponent("CustomExecutor")
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"]) { cluster in
            let run = try DaemonProcess([cluster.masterAddress, "one two three", "four"], name: "custom",
                                        executable: program)
            #expect(await run.waitForExit(timeout: .seconds(60)) == 0, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
            #expect(run.stdout.contains("words-1 TASK_RUNNING"))
            #expect(run.stdout.contains("result 0: 3 word(s), \"ONE TWO THREE\""))
            #expect(run.stdout.contains("result 1: 1 word(s), \"FOUR\""))
            #expect(run.stdout.contains("words-1 TASK_FINISHED"))
        }
    }
}
