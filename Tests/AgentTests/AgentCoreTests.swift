import AgoraProto
import Foundation
import Messaging
import Resources
import Testing

@testable import Agent

private typealias S = AgentScenario

@Suite struct AgentCoreTests {
    private static let taskKey = AgentTaskKey(frameworkID: S.frameworkID, taskID: "t1")
    /// The framework's shared command executor, the first container the agent makes.
    private static let executorKey = ExecutorKey(frameworkID: S.frameworkID, executorID: "agora-commands-1")

    // MARK: - Registration

    @Test func registrationSendsRegisterAgentAndCheckpointsTheAssignedID() throws {
        var s = S()
        let sent = S.toMaster(s.tick())
        try #require(sent.count == 1)
        #expect(sent[0].isRegisterAgent)
        let request = sent[0].registerAgent
        #expect(request.agentInfo.hostname == "host1")
        #expect(request.bootID == "boot")
        #expect(request.httpAddress == "http://host1:5051")
        #expect(!request.registrationToken.isEmpty)
        #expect(s.core.registration == .registering(token: request.registrationToken))

        // A reply to someone else's registration is ignored.
        let wrong = s.registered(token: request.registrationToken + "-other", id: "m-S9")
        #expect(wrong.isEmpty)
        #expect(s.core.agentID == nil)
        #expect(s.core.registration == .registering(token: request.registrationToken))

        let directives = s.registered(token: request.registrationToken)
        #expect(s.core.registration == .registered)
        #expect(s.core.agentID == S.agentID)
        #expect(directives.contains(.checkpointAgentID(S.agentID)))
        #expect(S.toMaster(directives).isEmpty)

        // Registered: no more attempts.
        for second in [1, 5, 30] {
            s.now = .seconds(second)
            #expect(S.toMaster(s.tick()).isEmpty, "at \(second) s")
        }
    }

    @Test func registrationIsRetriedWithDoublingJitteredBackoff() throws {
        var s = S { $0.registrationBackoff = .milliseconds(500) ... .seconds(2) }
        var tokens: [String] = []
        var attempts: [Int] = []
        for millis in stride(from: 0, through: 12_000, by: 100) {
            s.now = .milliseconds(millis)
            let sent = S.toMaster(s.tick()).filter(\.isRegisterAgent)
            #expect(sent.count <= 1, "at \(millis) ms")
            if !sent.isEmpty { attempts.append(millis) }
            tokens += sent.map(\.registerAgent.registrationToken)
        }
        // Gaps of 0.5, 1, 2, 2, … s (doubling to the cap), each lengthened by less than
        // half by the jitter, seen at the 100 ms tick after it ends.
        #expect(attempts.first == 0)
        var backoff = 500
        for (previous, next) in zip(attempts, attempts.dropFirst()) {
            #expect(next - previous >= backoff && next - previous <= backoff * 3 / 2 + 100,
                    "gap \(next - previous) ms for a backoff of \(backoff) ms")
            backoff = min(backoff * 2, 2_000)
        }
        #expect(attempts.count >= 6)
        #expect(Set(tokens).count == 1, "every attempt uses the same registration token")

        // The latest attempt's answer registers the agent.
        _ = s.registered(token: try #require(tokens.last))
        #expect(s.core.registration == .registered)
    }

    // MARK: - Launching

    @Test func aCommandTaskStartsTheFrameworksSharedExecutor() throws {
        var s = S()
        try s.register()
        let task = S.task("t1", resources: "cpus:1;mem:128;ports:[31000-31001,31005-31005]")

        let directives = s.runTask(task)

        let launches = S.launches(directives)
        try #require(launches.count == 1)
        let launch = launches[0]
        #expect(launch.program == .builtIn)
        #expect(launch.isShared)
        #expect(launch.key == Self.executorKey)
        #expect(launch.ports.isEmpty && launch.resources == Resources(), "the task's resources go to its own container")
        #expect(launch.frameworkInfo.id.value == S.frameworkID)
        #expect(launch.executorInfo.executorID.value == Self.executorKey.executorID)
        #expect(!launch.containerID.isEmpty)
        let containerID = try #require(s.core.tasks[Self.taskKey]?.containerID)
        #expect(containerID != launch.containerID)
        #expect(s.core.executors[Self.executorKey]?.phase == .launching)
        #expect(s.core.executors[Self.executorKey]?.isShared == true)
        #expect(s.core.tasks[Self.taskKey]?.state == .taskStaging)
        #expect(s.core.tasks[Self.taskKey]?.launched == false)
        #expect(!directives.contains { if case .sendToExecutor = $0 { true } else { false } },
                "nothing goes to an executor that has not subscribed")
        #expect(s.core.counters.tasksLaunched == 1)
    }

    @Test func aQueuedTaskIsLaunchedWhenItsExecutorSubscribes() throws {
        var s = S()
        try s.register()
        let launch = try #require(S.launches(s.runTask(S.task("t1"))).first)

        let peer = PeerID("exec-shared")
        let directives = s.subscribe(peer, executor: Self.executorKey.executorID)

        let events = S.toExecutor(directives, peer)
        #expect(events.map(\.type) == [.subscribed, .launch])
        #expect(events.first?.subscribed.containerID.value == launch.containerID)
        #expect(events.first?.subscribed.executorInfo.executorID.value == Self.executorKey.executorID)
        let taskLaunch = try #require(S.taskLaunches(directives).first)
        #expect(taskLaunch.containerID == s.core.tasks[Self.taskKey]?.containerID)
        #expect(taskLaunch.event.launch.container.containerID == taskLaunch.containerID)
        #expect(taskLaunch.resources == S.bag("cpus:1;mem:128"))
        #expect(events.first?.subscribed.frameworkInfo.id.value == S.frameworkID)
        #expect(events.last?.launch.task.taskID.value == "t1")
        #expect(s.core.tasks[Self.taskKey]?.launched == true)
        #expect(s.core.executors[Self.executorKey]?.phase == .running)
    }

    @Test func laterCommandTasksGoToTheRunningSharedExecutorEachInAContainerOfItsOwn() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        let directives = s.runTask(S.task("t2", resources: "cpus:0.5;mem:64"))

        #expect(S.launches(directives).isEmpty, "no executor starts for t2")
        let launch = try #require(S.taskLaunches(directives).first)
        #expect(launch.peer == peer)
        #expect(launch.executor == Self.executorKey)
        #expect(launch.resources == S.bag("cpus:0.5;mem:64"))
        let t2 = AgentTaskKey(frameworkID: S.frameworkID, taskID: "t2")
        #expect(s.core.tasks[t2]?.launched == true)
        #expect(s.core.tasks[t2]?.containerID == launch.containerID)
        #expect(launch.containerID != s.core.tasks[Self.taskKey]?.containerID)
        #expect(s.core.executors[Self.executorKey]?.tasks == ["t1", "t2"])

        // Another framework gets an executor of its own.
        let other = s.runTask(S.task("t3"), framework: "other")
        #expect(S.launches(other).map(\.key.frameworkID) == ["other"])
    }

    @Test func anEndedTaskLosesItsContainerAndIsForgottenWithItsSandbox() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        let containerID = try #require(s.core.tasks[Self.taskKey]?.containerID)

        let finished = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(1))
        #expect(S.destroyedContainers(finished) == [containerID])
        // As for an ended executor, whether or not the framework ever acknowledges.
        #expect(finished.contains(.scheduleSandboxRemoval(key: Self.executorKey, containerID: containerID)))

        _ = s.acknowledge(task: "t1", uuid: S.uuid(1))
        #expect(s.core.tasks[Self.taskKey] == nil, "forgotten while the shared executor runs on")
        #expect(s.core.completedTasks.map(\.key) == [Self.taskKey])
        #expect(s.core.executors[Self.executorKey]?.tasks.isEmpty == true)
    }

    /// `agora run` tears its framework down right after TASK_FINISHED, and the
    /// acknowledgement may never come: the ended task is forgotten at once, not when the
    /// shared executor has gone.
    @Test func aFrameworkShutDownBeforeTheLastAcknowledgementLeavesNoEndedTaskBehind() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        _ = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(1))

        let directives = s.fromMaster { envelope in
            var shutdown = Agora_V1_ShutdownFramework()
            shutdown.agentID.value = S.agentID
            shutdown.frameworkID.value = S.frameworkID
            envelope.shutdownFramework = shutdown
        }
        #expect(S.destroyed(directives).contains(Self.executorKey))
        #expect(s.core.executors[Self.executorKey]?.phase == .terminating)
        #expect(s.core.tasks[Self.taskKey] == nil)
        #expect(s.core.completedTasks.map(\.key) == [Self.taskKey])
        #expect(s.core.completedTasks.first?.state == .taskFinished, "an ended task keeps its end")
    }

    @Test func anIdleSharedExecutorIsShutDownAndTheNextTaskStartsANewOne() throws {
        var s = S { configuration in
            configuration.sharedExecutorIdleTimeout = .seconds(10)
            configuration.masterSilenceLimit = .seconds(1_000)
        }
        let peer = try s.runningTask("t1")
        _ = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(1))
        _ = s.acknowledge(task: "t1", uuid: S.uuid(1))

        s.now = .seconds(1)
        #expect(S.destroyed(s.tick()).isEmpty)
        s.now = .milliseconds(10_999)
        #expect(S.destroyed(s.tick()).isEmpty)
        s.now = .seconds(11)
        let directives = s.tick()
        #expect(S.toExecutor(directives, peer).map(\.type) == [.shutdown])
        #expect(S.destroyed(directives) == [Self.executorKey])
        #expect(s.core.executors[Self.executorKey]?.phase == .terminating)

        // A task arriving while it ends gets a new executor.
        let next = s.runTask(S.task("t2"))
        let launch = try #require(S.launches(next).first)
        #expect(launch.isShared && launch.key != Self.executorKey)
    }

    @Test func aBusySharedExecutorIsNotShutDown() throws {
        var s = S { configuration in
            configuration.sharedExecutorIdleTimeout = .seconds(10)
            configuration.masterSilenceLimit = .seconds(1_000)
        }
        _ = try s.runningTask("t1")
        s.now = .seconds(30)
        #expect(S.destroyed(s.tick()).isEmpty)
        s.now = .seconds(60)
        #expect(S.destroyed(s.tick()).isEmpty)
    }

    @Test func aTaskWhoseContainerCannotBeMadeFails() throws {
        var s = S()
        _ = try s.runningTask("t1")
        let containerID = try #require(s.core.tasks[Self.taskKey]?.containerID)

        #expect(S.statusUpdates(s.core.taskContainerFailed(Self.taskKey, containerID: "another", message: "x",
                                                            now: s.now)).isEmpty)
        let directives = s.core.taskContainerFailed(Self.taskKey, containerID: containerID,
                                                    message: "could not make the task's container: no space", now: s.now)
        let updates = S.statusUpdates(directives)
        #expect(updates.map(\.status.state) == [.taskFailed])
        #expect(updates.first?.status.reason == .containerLaunchFailed)
        #expect(updates.first?.status.message == "could not make the task's container: no space")
        #expect(S.destroyedContainers(directives) == [containerID])
    }

    @Test func runTaskForAnotherAgentIsIgnored() throws {
        var s = S()
        try s.register()
        let directives = s.fromMaster { envelope in
            var run = Agora_V1_RunTask()
            run.agentID.value = "m-S2"
            run.frameworkInfo.id.value = S.frameworkID
            run.task = S.task("t1")
            envelope.runTask = run
        }
        #expect(S.launches(directives).isEmpty)
        #expect(s.core.tasks.isEmpty)
    }

    // MARK: - Status updates

    @Test func anExecutorUpdateIsCheckpointedBeforeItIsSentAndAcknowledged() throws {
        var s = S()
        let peer = try s.runningTask("t1")

        let directives = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))

        let checkpointIndex = try #require(directives.firstIndex {
            if case .checkpointUpdate = $0 { true } else { false }
        })
        let sendIndex = try #require(directives.firstIndex {
            if case .sendToMaster(let envelope) = $0 { envelope.isStatusUpdate } else { false }
        })
        #expect(checkpointIndex < sendIndex)

        let updates = S.statusUpdates(directives)
        try #require(updates.count == 1)
        #expect(updates[0].status.uuid == S.uuid(1))
        #expect(updates[0].status.state == .taskRunning)
        #expect(updates[0].status.taskID.value == "t1")
        #expect(updates[0].status.source == .executor)
        #expect(updates[0].agentID.value == S.agentID)
        #expect(updates[0].frameworkID.value == S.frameworkID)
        #expect(updates[0].executorID.value == Self.executorKey.executorID)
        #expect(S.checkpoints(directives).map(\.status.uuid) == [S.uuid(1)])

        let acks = S.toExecutor(directives, peer).filter { $0.type == .acknowledged }
        #expect(acks.map(\.acknowledged.uuid) == [S.uuid(1)])
        #expect(acks.map(\.acknowledged.taskID.value) == ["t1"])
        #expect(s.core.tasks[Self.taskKey]?.state == .taskRunning)
        #expect(s.core.unacknowledgedUpdateCount == 1)
    }

    @Test func aDuplicateUpdateIsAcknowledgedAgainButNotForwardedTwice() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        _ = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))

        let duplicate = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))

        #expect(S.toExecutor(duplicate, peer).map(\.type) == [.acknowledged])
        #expect(S.toExecutor(duplicate, peer).first?.acknowledged.uuid == S.uuid(1))
        #expect(S.statusUpdates(duplicate).isEmpty)
        #expect(S.checkpoints(duplicate).isEmpty)
        #expect(s.core.unacknowledgedUpdateCount == 1)
    }

    @Test
    func aDuplicateUpdateAfterTheMasterAcknowledgedIsNotForwardedAgain() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        _ = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        _ = s.acknowledge(task: "t1", uuid: S.uuid(1))
        #expect(s.core.unacknowledgedUpdateCount == 0)

        // The executor did not get ACKNOWLEDGED and retries the same update.
        let duplicate = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))

        #expect(S.toExecutor(duplicate, peer).map(\.type) == [.acknowledged])
        let pending = s.core.unacknowledgedUpdateCount
        #expect(S.statusUpdates(duplicate).isEmpty, "the framework would see the same update twice")
        #expect(S.checkpoints(duplicate).isEmpty)
        #expect(pending == 0)
    }

    @Test func anUpdateWithoutUUIDGetsAnError() throws {
        var s = S()
        let peer = try s.runningTask("t1")

        let directives = s.update(peer, task: "t1", state: .taskRunning, uuid: nil)

        let events = S.toExecutor(directives, peer)
        #expect(events.map(\.type) == [.error])
        #expect(events.first?.error.message.contains("uuid") == true)
        #expect(S.statusUpdates(directives).isEmpty)
        #expect(S.checkpoints(directives).isEmpty)
        #expect(s.core.tasks[Self.taskKey]?.state == .taskStaging)
        #expect(s.core.counters.invalidMessages == 1)
    }

    @Test func anUpdateForAnUnknownTaskGetsAnError() throws {
        var s = S()
        let peer = try s.runningTask("t1")

        let directives = s.update(peer, task: "nope", executor: "t1", state: .taskRunning, uuid: S.uuid(1))

        #expect(S.toExecutor(directives, peer).map(\.type) == [.error])
        #expect(S.statusUpdates(directives).isEmpty)
    }

    @Test func updatesOfATaskGoOutOneAtATimeInOrder() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        #expect(S.statusUpdates(s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))).count == 1)

        let second = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(2))
        #expect(S.checkpoints(second).map(\.status.uuid) == [S.uuid(2)], "checkpointed at once")
        #expect(S.statusUpdates(second).isEmpty, "held back until the first is acknowledged")
        #expect(S.toExecutor(second, peer).map(\.type) == [.acknowledged])
        #expect(s.core.unacknowledgedUpdateCount == 2)

        // A stale or foreign acknowledgement changes nothing.
        #expect(s.acknowledge(task: "t1", uuid: S.uuid(2)).isEmpty)
        #expect(s.acknowledge(task: "t1", uuid: S.uuid(9)).isEmpty)
        #expect(s.core.unacknowledgedUpdateCount == 2)
        #expect(s.core.counters.acknowledgements == 0)

        let afterFirst = s.acknowledge(task: "t1", uuid: S.uuid(1))
        let next = S.statusUpdates(afterFirst)
        #expect(next.map(\.status.uuid) == [S.uuid(2)])
        #expect(next.map(\.status.state) == [.taskFinished])
        #expect(s.core.unacknowledgedUpdateCount == 1)

        let afterSecond = s.acknowledge(task: "t1", uuid: S.uuid(2))
        #expect(S.statusUpdates(afterSecond).isEmpty)
        #expect(s.core.unacknowledgedUpdateCount == 0)
        #expect(s.core.counters.acknowledgements == 2)
    }

    @Test func anUnacknowledgedUpdateIsRetriedWithDoublingBackoff() throws {
        var s = S { $0.masterSilenceLimit = .seconds(10_000) }
        let peer = try s.runningTask("t1")
        _ = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        _ = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(2))

        // Backoff 10 s, then 20 s, then 40 s: retries at 10, 30 and 70 s.
        var retries: [Duration] = []
        for second in 1...80 {
            s.now = .seconds(second)
            let sent = S.statusUpdates(s.tick())
            if !sent.isEmpty { retries.append(s.now) }
            for update in sent {
                #expect(update.status.uuid == S.uuid(1), "the head is retried")
                #expect(update.latestState == .taskFinished, "the master learns the newest state")
            }
        }
        #expect(retries == [.seconds(10), .seconds(30), .seconds(70)])
        #expect(s.core.counters.statusUpdateRetries == 3)

        // An acknowledgement sends the next update and resets the backoff.
        s.now = .seconds(75)
        #expect(S.statusUpdates(s.acknowledge(task: "t1", uuid: S.uuid(1))).map(\.status.uuid) == [S.uuid(2)])
        s.now = .milliseconds(84_999)
        #expect(S.statusUpdates(s.tick()).isEmpty)
        s.now = .seconds(85)
        #expect(S.statusUpdates(s.tick()).map(\.status.uuid) == [S.uuid(2)])
    }

    // MARK: - Executor exits

    /// The executor's own container reaching its memory limit is no reason given to a
    /// task that lives in a container of its own.
    @Test(arguments: [false, true])
    func anExecutorExitFailsItsUnfinishedTasks(memoryLimitReached: Bool) throws {
        var s = S()
        let peer = try s.runningTask("t1")
        let taskContainer = try #require(s.core.tasks[Self.taskKey]?.containerID)
        _ = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))
        _ = s.acknowledge(task: "t1", uuid: S.uuid(1))
        let containerID = try #require(s.core.executors[Self.executorKey]?.containerID)

        s.now = .seconds(5)
        let directives = s.core.executorExited(Self.executorKey, containerID: containerID, status: 137,
                                               description: "was killed by signal 9",
                                               memoryLimitReached: memoryLimitReached, now: s.now)

        let updates = S.statusUpdates(directives)
        try #require(updates.count == 1)
        #expect(updates[0].status.taskID.value == "t1")
        #expect(updates[0].status.state == .taskFailed)
        #expect(updates[0].status.reason == .executorTerminated)
        #expect(updates[0].status.source == .agent)
        #expect(!updates[0].status.uuid.isEmpty)
        #expect(S.checkpoints(directives).map(\.status.uuid) == [updates[0].status.uuid])

        let exited = S.toMaster(directives).filter(\.isExitedExecutor).map(\.exitedExecutor)
        #expect(exited.count == 1)
        #expect(exited.first?.executorID.value == Self.executorKey.executorID)
        #expect(exited.first?.frameworkID.value == S.frameworkID)
        #expect(exited.first?.agentID.value == S.agentID)
        #expect(exited.first?.status == 137)
        #expect(exited.first?.tasks.map(\.value) == ["t1"], "names the tasks of that run (a launch may cross it)")
        #expect(Set(S.destroyedContainers(directives)) == [containerID, taskContainer])
        #expect(s.core.executors[Self.executorKey] == nil)
        #expect(s.core.counters.executorsExited == 1)
    }

    @Test func anExecutorExitAfterTheTaskFinishedReportsNothingNew() throws {
        var s = S()
        let peer = try s.runningTask("t1")
        _ = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(1))
        let containerID = try #require(s.core.executors[Self.executorKey]?.containerID)

        let directives = s.core.executorExited(Self.executorKey, containerID: containerID, status: 0,
                                               description: "exited with status 0", memoryLimitReached: false,
                                               now: s.now)

        #expect(S.statusUpdates(directives).isEmpty)
        #expect(S.toMaster(directives).filter(\.isExitedExecutor).count == 1)
        #expect(S.destroyed(directives) == [Self.executorKey])
    }

    @Test func anExitReportForAnotherContainerIsIgnored() throws {
        var s = S()
        _ = try s.runningTask("t1")
        let directives = s.core.executorExited(Self.executorKey, containerID: "some-other", status: 1,
                                               description: "exited with status 1", memoryLimitReached: false,
                                               now: s.now)
        #expect(directives.isEmpty)
        #expect(s.core.executors[Self.executorKey] != nil)
    }

    // MARK: - Killing

    @Test func killingALaunchedTaskAsksItsExecutor() throws {
        var s = S()
        let peer = try s.runningTask("t1")

        let directives = s.kill(task: "t1")

        let events = S.toExecutor(directives, peer)
        #expect(events.map(\.type) == [.kill])
        #expect(events.first?.kill.taskID.value == "t1")
        #expect(S.statusUpdates(directives).isEmpty)
        #expect(S.destroyed(directives).isEmpty)
    }

    @Test func killingAQueuedTaskEndsItWithoutLaunchingIt() throws {
        var s = S()
        try s.register()
        _ = s.runTask(S.task("t1"))

        let directives = s.kill(task: "t1")

        let updates = S.statusUpdates(directives)
        #expect(updates.map(\.status.state) == [.taskKilled])
        #expect(updates.first?.status.reason == .taskKilledDuringLaunch)
        #expect(updates.first?.status.source == .agent)
        #expect(S.destroyedContainers(directives) == [s.core.tasks[Self.taskKey]?.containerID],
                "the task's own container goes; the shared executor stays for the framework's next tasks")

        // The executor subscribes and gets no LAUNCH.
        let peer = PeerID("exec-shared")
        let late = S.toExecutor(s.subscribe(peer, executor: Self.executorKey.executorID), peer)
        #expect(late.map(\.type) == [.subscribed])
    }

    @Test func killingAQueuedTaskOfAGroupKeepsItOutOfTheLaunch() throws {
        var s = S()
        try s.register()
        let executorKey = ExecutorKey(frameworkID: S.frameworkID, executorID: "ex")
        let launched = S.launches(s.fromMaster { envelope in
            var run = Agora_V1_RunTaskGroup()
            run.agentID.value = S.agentID
            run.frameworkInfo.id.value = S.frameworkID
            run.executorInfo.type = .default
            run.executorInfo.executorID.value = "ex"
            run.executorInfo.resources = S.bag("cpus:0.1;mem:32").proto
            run.taskGroup.tasks = [S.task("g1"), S.task("g2")]
            envelope.runTaskGroup = run
        })
        #expect(launched.map(\.key) == [executorKey])
        #expect(launched.first?.program == .builtIn)
        #expect(launched.first?.resources == S.bag("cpus:2.1;mem:288"))

        let killed = s.kill(task: "g1")
        #expect(S.statusUpdates(killed).map(\.status.state) == [.taskKilled])
        #expect(S.statusUpdates(killed).map(\.status.taskID.value) == ["g1"])

        let peer = PeerID("exec-ex")
        let events = S.toExecutor(s.subscribe(peer, executor: "ex"), peer)
        let launchedIDs = events.filter { $0.type == .launchGroup }.flatMap { $0.launchGroup.taskGroup.tasks.map(\.taskID.value) }
        #expect(!launchedIDs.contains("g1"), "the executor is asked to run a task reported TASK_KILLED")
    }

    @Test func anExecutorThatNeverSubscribesFailsItsTasks() throws {
        var s = S { configuration in
            configuration.executorRegistrationTimeout = .seconds(60)
            configuration.masterSilenceLimit = .seconds(1_000)
        }
        try s.register()
        _ = s.runTask(S.task("t1"))

        s.now = .seconds(60)
        #expect(S.statusUpdates(s.tick()).isEmpty)
        s.now = .seconds(61)
        let directives = s.tick()
        let updates = S.statusUpdates(directives)
        #expect(updates.map(\.status.state) == [.taskFailed])
        #expect(updates.first?.status.reason == .executorRegistrationTimeout)
        #expect(Set(S.destroyedContainers(directives)) == [s.core.executors[Self.executorKey]?.containerID,
                                                          s.core.tasks[Self.taskKey]?.containerID])
        s.now = .seconds(62)
        #expect(S.destroyed(s.tick()).isEmpty, "destroyed once")
    }

    @Test func killingAnUnknownTaskReportsItLost() throws {
        var s = S()
        try s.register()
        let directives = s.kill(task: "ghost")
        // killTask means to answer TASK_LOST (a RunTask lost in transit leaves the master
        // with a STAGING task only this answer would end).
        let updates = S.statusUpdates(directives)
        #expect(updates.map(\.status.state) == [.taskLost])
        #expect(updates.map(\.status.taskID.value) == ["ghost"])
        // Tracked only so that the update is retried until acknowledged.
        #expect(s.core.tasks.values.map(\.state) == [.taskLost])
    }

    @Test func aKillForAnotherAgentOrBeforeRegistrationIsIgnored() throws {
        var s = S()
        // Before the agent has its ID it cannot answer, and could not checkpoint an answer.
        #expect(S.statusUpdates(s.kill(task: "ghost")).isEmpty)
        #expect(s.core.tasks.isEmpty)
        try s.register()
        let misaddressed = s.fromMaster { envelope in
            envelope.killTask.agentID.value = "another-agent"
            envelope.killTask.frameworkID.value = S.frameworkID
            envelope.killTask.taskID.value = "ghost"
        }
        #expect(S.statusUpdates(misaddressed).isEmpty)
        #expect(s.core.tasks.isEmpty)
    }

    /// The master charges a custom executor's resources: pongs list such executors (not
    /// the shared command executor, which has none), and a launch that fails is reported
    /// as an exit naming its tasks, so that the master frees them.
    @Test func pongsListChargedExecutorsAndAFailedLaunchIsReportedAsAnExit() throws {
        var s = S()
        try s.register()
        _ = try s.runningTask("command")
        var task = S.task("t1")
        task.clearCommand()
        task.executor.executorID.value = "custom"
        task.executor.command.value = "/bin/custom-executor"
        task.executor.resources = S.bag("cpus:0.5;mem:32").proto
        let launch = try #require(S.launches(s.runTask(task)).first)

        let pong = S.toMaster(s.fromMaster { envelope in
            envelope.ping.agentID.value = S.agentID
            envelope.ping.sequence = 3
        }).filter(\.isPong).map(\.pong)
        #expect(pong.map(\.sequence) == [3])
        #expect(pong.first?.executors.map { "\($0.frameworkID.value)/\($0.executorID.value)" } == ["\(S.frameworkID)/custom"])

        let failed = s.core.executorLaunchFailed(launch.key, containerID: launch.containerID, message: "no such file",
                                                 now: s.now)
        #expect(S.statusUpdates(failed).map(\.status.state) == [.taskFailed])
        let exited = S.toMaster(failed).filter(\.isExitedExecutor).map(\.exitedExecutor)
        #expect(exited.map(\.executorID.value) == ["custom"])
        #expect(exited.first?.tasks.map(\.value) == ["t1"])
    }

    @Test func aReconciliationReportsOnlyTheTasksTheAgentDoesNotKnow() throws {
        var s = S()
        try s.register()
        _ = s.runTask(S.task("t1"))
        let directives = s.fromMaster { envelope in
            var reconcile = Agora_V1_ReconcileAgentTasks()
            reconcile.agentID.value = S.agentID
            envelope.ping.agentID.value = S.agentID
            envelope.ping.sequence = 7
            for id in ["t1", "never-arrived"] {
                var task = Agora_V1_Task()
                task.frameworkID.value = S.frameworkID
                task.taskID.value = id
                var status = Agora_V1_TaskStatus()
                status.state = .taskDropped
                status.reason = .reconciliation
                status.message = "the task's launch never reached the agent"
                task.statuses = [status]
                reconcile.tasks.append(task)
            }
            envelope.ping.reconcile = reconcile
        }
        // t1 arrived (its RunTask came before the reconciliation): nothing to say. The
        // other never did: the agent sends the master's status as its own update.
        let updates = S.statusUpdates(directives)
        #expect(updates.map(\.status.taskID.value) == ["never-arrived"])
        #expect(updates.first?.status.state == .taskDropped)
        #expect(updates.first?.status.source == .agent)
        #expect(updates.first?.status.message == "the task's launch never reached the agent")
        #expect(s.core.tasks[AgentTaskKey(frameworkID: S.frameworkID, taskID: "t1")]?.state == .taskStaging)
        // The pong comes after the update, so the master has the answer when it sees it.
        let sent = S.toMaster(directives)
        let update = sent.firstIndex { if case .statusUpdate = $0.payload { true } else { false } }
        let pong = sent.firstIndex { if case .pong = $0.payload { true } else { false } }
        #expect(update != nil && pong != nil && update! < pong!)

        // A duplicate reconciliation does not report it twice.
        let again = s.fromMaster { envelope in
            envelope.ping.agentID.value = S.agentID
            envelope.ping.sequence = 8
            var task = Agora_V1_Task()
            task.frameworkID.value = S.frameworkID
            task.taskID.value = "never-arrived"
            envelope.ping.reconcile.tasks = [task]
        }
        #expect(S.statusUpdates(again).isEmpty)
    }

    // MARK: - Master silence

    @Test func anAgentTheMasterStopsPingingReregistersWithItsTasks() throws {
        var s = S()
        try s.register(pingInterval: 1)  // silence limit: three intervals
        _ = s.runTask(S.task("t1"))
        let peer = PeerID("exec-t1")
        _ = s.subscribe(peer, executor: "t1")
        _ = s.update(peer, task: "t1", state: .taskRunning, uuid: S.uuid(1))

        s.now = .seconds(2)
        let pong = S.toMaster(s.fromMaster { envelope in
            var ping = Agora_V1_Ping()
            ping.agentID.value = S.agentID
            ping.sequence = 4
            envelope.ping = ping
        })
        #expect(pong.map(\.pong.sequence) == [4])

        s.now = .seconds(5)
        #expect(S.toMaster(s.tick()).isEmpty, "exactly at the limit")
        #expect(s.core.registration == .registered)

        s.now = .milliseconds(5_001)
        let sent = S.toMaster(s.tick()).filter(\.isReregisterAgent).map(\.reregisterAgent)
        try #require(sent.count == 1)
        #expect(s.core.registration == .reregistering)
        #expect(sent[0].agentInfo.id.value == S.agentID)
        #expect(sent[0].tasks.map(\.taskID.value) == ["t1"])
        #expect(sent[0].tasks.first?.state == .taskRunning)
        #expect(sent[0].tasks.first?.frameworkID.value == S.frameworkID)
        #expect(sent[0].tasks.first?.statusUpdateUuid == S.uuid(1), "the unacknowledged update is named")
        #expect(sent[0].frameworks.map(\.id.value) == [S.frameworkID])

        // Updates wait while re-registering, and go out once the master answers.
        let held = s.update(peer, task: "t1", state: .taskFinished, uuid: S.uuid(2))
        #expect(S.statusUpdates(held).isEmpty)
        let answered = s.fromMaster { envelope in
            var reply = Agora_V1_AgentReregistered()
            reply.agentID.value = S.agentID
            envelope.agentReregistered = reply
        }
        #expect(s.core.registration == .registered)
        #expect(S.statusUpdates(answered).map(\.status.uuid) == [S.uuid(1)], "the head is re-sent")
    }

    @Test func pingsForAnotherAgentAreNotAnswered() throws {
        var s = S()
        try s.register()
        let directives = s.fromMaster { envelope in
            var ping = Agora_V1_Ping()
            ping.agentID.value = "m-S2"
            ping.sequence = 1
            envelope.ping = ping
        }
        #expect(S.toMaster(directives).isEmpty)
    }
}
