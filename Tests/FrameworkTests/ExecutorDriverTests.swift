import AgoraProto
import Foundation
@testable import Framework
import Messaging
import Testing

/// The executor driver against a fake agent on a real `ipc://` socket.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ExecutorDriverTests {
    /// Short retry intervals so the tests watch several retries quickly.
    static let timing = ExecutorSession.Timing(subscribeRetryInterval: .milliseconds(100),
                                               updateRetryInterval: .milliseconds(300),
                                               recoveryTimeout: nil)

    /// A driver started against `agent`, with the first SUBSCRIBE it sent.
    struct Started {
        let executor: RecordingExecutor
        let driver: ExecutorDriver
        let subscribe: FakeAgent.ReceivedCall

        init(agent: FakeAgent, executor: RecordingExecutor = RecordingExecutor()) async throws {
            self.executor = executor
            let environment = ExecutorEnvironment(agentEndpoint: agent.address, frameworkID: "fw-1",
                                                  executorID: "exec-1", agentID: "agent-1")
            driver = ExecutorDriver(executor: executor, environment: environment,
                                    logger: .init(label: "test.executor"), timing: ExecutorDriverTests.timing,
                                    tickInterval: .milliseconds(20))
            try await driver.start()
            subscribe = try #require(await agent.nextCall(.subscribe))
        }

        /// Answers the SUBSCRIBE and waits for `registered`.
        func subscribed(by agent: FakeAgent) async throws {
            try await agent.sendSubscribed(to: subscribe.peer)
            _ = try #require(await executor.callbacks.first { $0.isRegistered })
        }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(within timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition()
    }

    @Test func subscribeIsRetriedUntilSubscribed() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let started = try await Started(agent: agent)
        let call = started.subscribe.call
        #expect(call.frameworkID.value == "fw-1")
        #expect(call.executorID.value == "exec-1")
        #expect(call.subscribe.unacknowledgedUpdates.isEmpty)

        // Unanswered, SUBSCRIBE comes again.
        let retry = try #require(await agent.nextCall(.subscribe, within: .seconds(5)))
        #expect(retry.call.executorID.value == "exec-1")
        #expect(await !started.driver.isSubscribed)

        try await agent.sendSubscribed(to: retry.peer)
        let registered = try #require(await started.executor.callbacks.next())
        guard case .registered(let executorID, let frameworkName, let hostname) = registered else {
            Issue.record("expected registered, got \(registered)")
            return
        }
        #expect(executorID == "exec-1")
        #expect(frameworkName == "test-framework")
        #expect(hostname == "agent-host")
        #expect(await started.driver.isSubscribed)

        // Retries already on their way (several on a loaded machine) may still arrive;
        // once they have drained, SUBSCRIBE stops.
        while await agent.nextCall(.subscribe, within: .milliseconds(250)) != nil {}
        #expect(await agent.nextCall(.subscribe, within: .milliseconds(600)) == nil)

        await started.driver.stop()
        await agent.shutdown()
    }

    @Test func launchAndLaunchGroupReachLaunchTask() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let started = try await Started(agent: agent)
        try await started.subscribed(by: agent)

        try await agent.sendLaunch("t1", to: started.subscribe.peer)
        let launched = try #require(await started.executor.callbacks.next()?.launchedTask)
        #expect(launched.taskID.value == "t1")
        #expect(launched.name == "task t1")

        var group = Agora_V1_Executor_Event()
        group.type = .launchGroup
        for id in ["t2", "t3"] {
            var task = Agora_V1_TaskInfo()
            task.taskID.value = id
            group.launchGroup.taskGroup.tasks.append(task)
        }
        try await agent.send(group, to: started.subscribe.peer)
        let first = try #require(await started.executor.callbacks.next()?.launchedTask)
        let second = try #require(await started.executor.callbacks.next()?.launchedTask)
        #expect([first.taskID.value, second.taskID.value] == ["t2", "t3"], "the default launches each, in order")

        await started.driver.stop()
        await agent.shutdown()
    }

    @Test func statusUpdateCarriesAUUIDAndIsResentUntilAcknowledged() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let started = try await Started(agent: agent)
        try await started.subscribed(by: agent)
        let driver = started.driver

        let sent = try await driver.sendStatusUpdate(taskID: "t1", state: .taskRunning, message: "started",
                                                     data: Data([1, 2]), healthy: true, labels: ["b": "2", "a": "1"])
        let first = try #require(await agent.nextCall(.update)).call
        let status = first.update.status
        #expect(first.frameworkID.value == "fw-1")
        #expect(first.executorID.value == "exec-1")
        #expect(status.uuid.count == 16)
        #expect(status.uuid == sent.uuid)
        #expect(status.taskID.value == "t1")
        #expect(status.state == .taskRunning)
        #expect(status.source == .executor)
        #expect(status.executorID.value == "exec-1")
        #expect(status.agentID.value == "agent-1")
        #expect(status.timestamp > 0)
        #expect(status.message == "started")
        #expect(status.data == Data([1, 2]))
        #expect(status.healthy)
        #expect(status.labels.labels.map(\.key) == ["a", "b"])
        #expect(await driver.pendingUpdateCount == 1)

        // Not acknowledged: it comes again, the same update.
        let again = try #require(await agent.nextCall(.update, within: .seconds(5))).call
        #expect(again.update.status.uuid == sent.uuid)

        try await agent.acknowledge(status, to: started.subscribe.peer)
        #expect(await Self.eventually { await driver.pendingUpdateCount == 0 })
        _ = await agent.nextCall(.update, within: .milliseconds(250))  // one may have been on its way
        #expect(await agent.nextCall(.update, within: .seconds(1)) == nil, "an acknowledged update is not sent again")

        let next = try await driver.sendStatusUpdate(taskID: "t1", state: .taskFinished)
        #expect(next.uuid.count == 16)
        #expect(next.uuid != sent.uuid, "every update gets its own uuid")

        await driver.stop(acknowledgementTimeout: .zero)
        await agent.shutdown()
    }

    @Test func killReachesKillTask() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let started = try await Started(agent: agent)
        try await started.subscribed(by: agent)

        var kill = Agora_V1_Executor_Event()
        kill.type = .kill
        kill.kill.taskID.value = "t1"
        kill.kill.killPolicy.gracePeriod.nanoseconds = 2_000_000_000
        try await agent.send(kill, to: started.subscribe.peer)
        let callback = try #require(await started.executor.callbacks.next())
        guard case .kill(let taskID, let policy) = callback else {
            Issue.record("expected kill, got \(callback)")
            return
        }
        #expect(taskID == "t1")
        #expect(policy?.gracePeriod.nanoseconds == 2_000_000_000)

        kill.kill.clearKillPolicy()
        kill.kill.taskID.value = "t2"
        try await agent.send(kill, to: started.subscribe.peer)
        let plain = try #require(await started.executor.callbacks.next())
        guard case .kill("t2", nil) = plain else {
            Issue.record("expected kill of t2 without a policy, got \(plain)")
            return
        }

        await started.driver.stop()
        await agent.shutdown()
    }

    @Test func messagesGoBothWaysAndErrorsAreReported() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let started = try await Started(agent: agent)
        do {
            try await started.driver.sendFrameworkMessage(Data("early".utf8))
            Issue.record("a message was accepted before SUBSCRIBED")
        } catch {
            #expect(error.code == .notSubscribed)
        }
        try await started.subscribed(by: agent)

        var message = Agora_V1_Executor_Event()
        message.type = .message
        message.message.data = Data("from the scheduler".utf8)
        try await agent.send(message, to: started.subscribe.peer)
        let callback = try #require(await started.executor.callbacks.next())
        guard case .message(let data) = callback else {
            Issue.record("expected message, got \(callback)")
            return
        }
        #expect(String(decoding: data, as: UTF8.self) == "from the scheduler")

        try await started.driver.sendFrameworkMessage(Data("from the executor".utf8))
        let call = try #require(await agent.nextCall(.message)).call
        #expect(call.executorID.value == "exec-1")
        #expect(call.frameworkID.value == "fw-1")
        #expect(String(decoding: call.message.data, as: UTF8.self) == "from the executor")

        var error = Agora_V1_Executor_Event()
        error.type = .error
        error.error.message = "unknown task t9"
        try await agent.send(error, to: started.subscribe.peer)
        let reported = try #require(await started.executor.callbacks.next())
        guard case .error("unknown task t9") = reported else {
            Issue.record("expected the error, got \(reported)")
            return
        }

        await started.driver.stop()
        await agent.shutdown()
    }

    @Test func shutdownReachesShutdownAndStopWaitsForTheLastAcknowledgement() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        // Like a real executor: report the task killed, then stop from the callback.
        let executor = RecordingExecutor { driver in
            _ = try? await driver.sendStatusUpdate(taskID: "t1", state: .taskKilled, message: "shut down")
            await driver.stop()
        }
        let started = try await Started(agent: agent, executor: executor)
        try await started.subscribed(by: agent)
        let ran = Mailbox<Bool>()
        Task {
            await started.driver.run()
            await ran.put(true)
        }

        var shutdown = Agora_V1_Executor_Event()
        shutdown.type = .shutdown
        try await agent.send(shutdown, to: started.subscribe.peer)
        #expect(try #require(await executor.callbacks.next()).isShutdown)

        let update = try #require(await agent.nextCall(.update)).call.update.status
        #expect(update.state == .taskKilled)
        #expect(await ran.next(within: .milliseconds(300)) == nil, "stop waits for the acknowledgement")
        try await agent.acknowledge(update, to: started.subscribe.peer)
        #expect(await ran.next(within: .seconds(5)) == true, "run returns once stopped")
        #expect(await started.driver.pendingUpdateCount == 0)
        await #expect(throws: ExecutorDriverError.self) {
            try await started.driver.sendStatusUpdate(taskID: "t1", state: .taskKilled)
        }
        await agent.shutdown()
    }

    @Test func stopGivesUpOnAcknowledgementsAfterTheBound() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let started = try await Started(agent: agent)
        try await started.subscribed(by: agent)
        try await started.driver.sendStatusUpdate(taskID: "t1", state: .taskFinished)
        _ = try #require(await agent.nextCall(.update))

        let began = ContinuousClock.now
        await started.driver.stop(acknowledgementTimeout: .milliseconds(300))
        let took = ContinuousClock.now - began
        #expect(took >= .milliseconds(300))
        #expect(took < .seconds(5))
        #expect(await started.driver.pendingUpdateCount == 1)
        await agent.shutdown()
    }

    @Test func resubscribesAfterTheAgentRestartsWithUnacknowledgedUpdates() async throws {
        let address = FakeAgent.uniqueAddress()
        let agent = try FakeAgent(binding: address)
        let started = try await Started(agent: agent)
        try await started.subscribed(by: agent)
        try await agent.sendLaunch("t1", to: started.subscribe.peer)
        _ = try #require(await started.executor.callbacks.next()?.launchedTask)
        let sent = try await started.driver.sendStatusUpdate(taskID: "t1", state: .taskRunning)
        _ = try #require(await agent.nextCall(.update))

        // The agent goes away before acknowledging, and comes back on the same socket.
        await agent.shutdown()
        #expect(try #require(await started.executor.callbacks.next()).isDisconnected)
        #expect(await !started.driver.isSubscribed)
        let restarted = try FakeAgent(binding: address)

        let subscribe = try #require(await restarted.nextCall(.subscribe))
        #expect(subscribe.call.subscribe.unacknowledgedUpdates.map(\.status.uuid) == [sent.uuid])
        #expect(subscribe.call.subscribe.unacknowledgedTasks.map(\.taskID.value) == ["t1"])
        try await restarted.sendSubscribed(to: subscribe.peer)
        let reregistered = try #require(await started.executor.callbacks.next())
        #expect(reregistered.isReregistered, "got \(reregistered)")

        let resent = try #require(await restarted.nextCall(.update)).call.update.status
        #expect(resent.uuid == sent.uuid)
        try await restarted.acknowledge(resent, to: subscribe.peer)
        #expect(await Self.eventually { await started.driver.pendingUpdateCount == 0 })

        await started.driver.stop()
        await restarted.shutdown()
    }

    @Test func invalidUpdatesAreRefused() async throws {
        let agent = try FakeAgent(binding: FakeAgent.uniqueAddress())
        let environment = ExecutorEnvironment(agentEndpoint: agent.address, frameworkID: "fw-1", executorID: "exec-1")
        let idle = ExecutorDriver(executor: RecordingExecutor(), environment: environment)
        do {
            try await idle.sendStatusUpdate(taskID: "t1", state: .taskRunning)
            Issue.record("an update before start() was accepted")
        } catch {
            #expect(error.code == .notRunning)
        }

        let started = try await Started(agent: agent)
        do {
            try await started.driver.sendStatusUpdate(taskID: "t1", state: .taskStaging)
            Issue.record("TASK_STAGING was accepted")
        } catch {
            #expect(error.code == .invalidCall)
        }
        do {
            try await started.driver.sendStatusUpdate(taskID: "", state: .taskRunning)
            Issue.record("an update without a task ID was accepted")
        } catch {
            #expect(error.code == .invalidCall)
        }
        #expect(await started.driver.pendingUpdateCount == 0)
        await started.driver.stop()
        await agent.shutdown()
    }

    @Test func aMissingEnvironmentVariableIsAClearError() throws {
        do {
            _ = try ExecutorDriver(executor: RecordingExecutor(),
                                   environment: ["AGORA_AGENT_ENDPOINT": "ipc:///tmp/agent.sock", "AGORA_EXECUTOR_ID": ""])
            Issue.record("the driver was created without AGORA_FRAMEWORK_ID and AGORA_EXECUTOR_ID")
        } catch {
            #expect(error.code == .missingEnvironment)
            #expect(error.description.hasPrefix("missing environment variables AGORA_FRAMEWORK_ID, AGORA_EXECUTOR_ID:"),
                    "\(error.description)")
        }

        let environment = try ExecutorEnvironment([
            "AGORA_AGENT_ENDPOINT": "ipc:///tmp/agent.sock", "AGORA_FRAMEWORK_ID": "fw-1",
            "AGORA_EXECUTOR_ID": "exec-1", "AGORA_SANDBOX": "/sandbox", "AGORA_AGENT_ID": "",
            "AGORA_CONTAINER_ID": "c-1",
        ])
        #expect(environment == ExecutorEnvironment(agentEndpoint: "ipc:///tmp/agent.sock", frameworkID: "fw-1",
                                                   executorID: "exec-1", sandbox: "/sandbox", agentID: nil,
                                                   containerID: "c-1"))
    }

    @Test func theAgentsRecoveryTimeoutIsReadAndABadOneIsAClearError() throws {
        let base = ["AGORA_AGENT_ENDPOINT": "ipc:///tmp/agent.sock", "AGORA_FRAMEWORK_ID": "fw-1", "AGORA_EXECUTOR_ID": "e"]
        let given = try ExecutorEnvironment(base.merging(["AGORA_RECOVERY_TIMEOUT_SECONDS": "2.5"]) { $1 })
        #expect(given.recoveryTimeout == .milliseconds(2_500))
        #expect(ExecutorSession.Timing.forAgent(of: given).recoveryTimeout == .milliseconds(2_500))
        #expect(ExecutorSession.Timing.forAgent(of: try ExecutorEnvironment(base)).recoveryTimeout == .seconds(15 * 60))
        for bad in ["soon", "-1", "0", "inf"] {
            #expect {
                try ExecutorEnvironment(base.merging(["AGORA_RECOVERY_TIMEOUT_SECONDS": bad]) { $1 })
            } throws: { error in
                let error = error as? ExecutorDriverError
                return error?.code == .invalidEnvironment && error?.description.contains("\"\(bad)\"") == true
            }
        }
    }
}
