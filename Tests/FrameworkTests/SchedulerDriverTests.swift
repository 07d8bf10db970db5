import AgoraProto
import Foundation
import Framework
import Messaging
import Resources
import Testing

/// The driver against a fake master on real loopback sockets.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct SchedulerDriverTests {
    /// A driver started against `master`, with the SUBSCRIBE it sent.
    struct Started {
        let scheduler = RecordingScheduler()
        let store: InMemoryFrameworkIDStore
        let driver: SchedulerDriver
        let subscribe: FakeMaster.ReceivedCall

        init(master: FakeMaster, storedID: String? = nil, implicitAcknowledgements: Bool = true) async throws {
            store = InMemoryFrameworkIDStore(storedID)
            var info = Agora_V1_FrameworkInfo()
            info.name = "test-framework"
            info.failoverTimeout = 60
            info.roles = ["web"]
            driver = SchedulerDriver(master: master.address, frameworkInfo: info, scheduler: scheduler,
                                     idStore: store, implicitAcknowledgements: implicitAcknowledgements)
            try await driver.start()
            subscribe = try #require(await master.nextCall(.subscribe))
        }

        /// Answers the SUBSCRIBE and waits for the `subscribed` callback.
        func subscribed(by master: FakeMaster, as frameworkID: String, heartbeatSeconds: Double = 15) async throws {
            try await master.sendSubscribed(to: subscribe.peer, frameworkID: frameworkID, heartbeatSeconds: heartbeatSeconds)
            let callback = try #require(await scheduler.callbacks.first { $0.subscribedID != nil })
            #expect(callback.subscribedID == frameworkID)
        }
    }

    @Test func subscribeDeliversTheFrameworkIDAndStoresIt() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        let call = started.subscribe.call
        #expect(!call.hasFrameworkID, "a new framework subscribes without an ID")
        #expect(!call.subscribe.frameworkInfo.hasID)
        #expect(call.subscribe.frameworkInfo.name == "test-framework")
        #expect(call.subscribe.frameworkInfo.failoverTimeout == 60)

        try await master.sendSubscribed(to: started.subscribe.peer, frameworkID: "fw-1")
        let callback = try #require(await started.scheduler.callbacks.next())
        guard case .subscribed(let frameworkID, let masterID) = callback else {
            Issue.record("expected subscribed, got \(callback)")
            return
        }
        #expect(frameworkID == "fw-1")
        #expect(masterID == "fake-master")
        #expect(started.store.value == "fw-1")
        #expect(await started.driver.frameworkID == "fw-1")
        #expect(await started.driver.isSubscribed)

        await started.driver.stop(failover: true)
        #expect(started.store.value == "fw-1", "failover keeps the ID")
        await master.shutdown()
    }

    @Test func resumesWithTheStoredFrameworkID() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master, storedID: "fw-7")
        #expect(started.subscribe.call.frameworkID.value == "fw-7")
        #expect(started.subscribe.call.subscribe.frameworkInfo.id.value == "fw-7")
        try await started.subscribed(by: master, as: "fw-7")
        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func offersAreDeliveredAndDeclineAndLaunchSendTheRightCalls() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")

        var event = Agora_V1_Scheduler_Event()
        event.type = .offers
        for (id, agent) in [("o-1", "a-1"), ("o-2", "a-2")] {
            var offer = Agora_V1_Offer()
            offer.id.value = id
            offer.frameworkID.value = "fw-1"
            offer.agentID.value = agent
            offer.hostname = "host-\(agent)"
            offer.resources = try Resources(parsing: "cpus:2;mem:1024;ports:[31000-31009]").proto
            event.offers.offers.append(offer)
        }
        try await master.send(event, to: started.subscribe.peer)
        let offers = try #require(await started.scheduler.callbacks.next()?.offers)
        #expect(offers.map(\.id.value) == ["o-1", "o-2"])

        // Decline the first with a filter.
        try await started.driver.decline(offerIDs: ["o-1"], filters: .refuse(seconds: 30))
        let decline = try #require(await master.nextNonSubscribeCall())
        #expect(decline.call.type == .decline)
        #expect(decline.call.frameworkID.value == "fw-1")
        #expect(decline.call.decline.offerIds.map(\.value) == ["o-1"])
        #expect(decline.call.decline.filters.refuseSeconds == 30)

        // Pack two tasks into the second and launch them.
        var offered = try OfferResources(offers[1])
        let need = try Resources(parsing: "cpus:0.5;mem:256")
        var tasks: [Agora_V1_TaskInfo] = []
        for index in 0..<2 where offered.take(need) {
            tasks.append(.command(id: "task-\(index)", name: "sleeper", shell: "sleep 10",
                                  resources: need, agentID: offered.agentID))
        }
        #expect(offered.remaining.cpus == Scalar(1))
        try await started.driver.launch(offerIDs: [offered.offerID], tasks: tasks)
        let accept = try #require(await master.nextNonSubscribeCall())
        #expect(accept.call.type == .accept)
        #expect(accept.call.frameworkID.value == "fw-1")
        #expect(accept.call.accept.offerIds.map(\.value) == ["o-2"])
        #expect(!accept.call.accept.hasFilters)
        let operation = try #require(accept.call.accept.operations.first)
        #expect(accept.call.accept.operations.count == 1)
        #expect(operation.type == .launch)
        #expect(operation.launch.taskInfos.map(\.taskID.value) == ["task-0", "task-1"])
        let task = try #require(operation.launch.taskInfos.first)
        #expect(task.agentID.value == "a-2")
        #expect(task.command.shell && task.command.value == "sleep 10")
        #expect(try Resources(proto: task.resources) == need)

        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func otherEventsReachTheirCallbacks() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")
        let peer = started.subscribe.peer

        var rescind = Agora_V1_Scheduler_Event()
        rescind.type = .rescind
        rescind.rescind.offerID.value = "o-9"
        var message = Agora_V1_Scheduler_Event()
        message.type = .message
        message.message.agentID.value = "a-1"
        message.message.executorID.value = "e-1"
        message.message.data = Data("hello".utf8)
        var executorLost = Agora_V1_Scheduler_Event()
        executorLost.type = .failure
        executorLost.failure.agentID.value = "a-1"
        executorLost.failure.executorID.value = "e-1"
        executorLost.failure.status = 9
        var agentLost = Agora_V1_Scheduler_Event()
        agentLost.type = .failure
        agentLost.failure.agentID.value = "a-2"
        var error = Agora_V1_Scheduler_Event()
        error.type = .error
        error.error.message = "cannot acknowledge: agent a-3 is unknown"
        var heartbeat = Agora_V1_Scheduler_Event()
        heartbeat.type = .heartbeat
        for event in [rescind, heartbeat, message, executorLost, agentLost, error] {
            try await master.send(event, to: peer)
        }

        var received: [String] = []
        for _ in 0..<5 {
            let callback = try #require(await started.scheduler.callbacks.next())
            switch callback {
            case .rescinded(let offerID): received.append("rescinded \(offerID)")
            case .message(let agentID, let executorID, let data):
                received.append("message \(agentID) \(executorID) \(String(decoding: data, as: UTF8.self))")
            case .executorLost(let executorID, let agentID, let status): received.append("executorLost \(executorID) \(agentID) \(status)")
            case .agentLost(let agentID): received.append("agentLost \(agentID)")
            case .error(let message): received.append("error \(message)")
            default: received.append("unexpected \(callback)")
            }
        }
        #expect(received == [
            "rescinded o-9", "message a-1 e-1 hello", "executorLost e-1 a-1 9", "agentLost a-2",
            "error cannot acknowledge: agent a-3 is unknown",
        ])
        #expect(await started.driver.isSubscribed, "an ordinary ERROR does not end the subscription")
        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func updatesWithAUUIDAreAcknowledgedImplicitlyAndOthersAreNot() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")
        let peer = started.subscribe.peer

        let first = Data([1, 2, 3, 4])
        let second = Data([5, 6, 7, 8])
        try await master.sendUpdate(to: peer, taskID: "t-1", agentID: "a-1", state: .taskRunning, uuid: first)
        try await master.sendUpdate(to: peer, taskID: "t-2", agentID: "a-1", state: .taskLost, uuid: nil)
        try await master.sendUpdate(to: peer, taskID: "t-3", agentID: "a-2", state: .taskFinished, uuid: second)

        var states: [Agora_V1_TaskState] = []
        for _ in 0..<3 {
            states.append(try #require(await started.scheduler.callbacks.next()?.status).state)
        }
        #expect(states == [.taskRunning, .taskLost, .taskFinished])

        // Acknowledgements go out in order, so one for the UUID-less update would come between these.
        let ack1 = try #require(await master.nextNonSubscribeCall())
        #expect(ack1.call.type == .acknowledge)
        #expect(ack1.call.frameworkID.value == "fw-1")
        #expect(ack1.call.acknowledge.taskID.value == "t-1")
        #expect(ack1.call.acknowledge.agentID.value == "a-1")
        #expect(ack1.call.acknowledge.uuid == first)
        let ack2 = try #require(await master.nextNonSubscribeCall())
        #expect(ack2.call.type == .acknowledge)
        #expect(ack2.call.acknowledge.taskID.value == "t-3")
        #expect(ack2.call.acknowledge.agentID.value == "a-2")
        #expect(ack2.call.acknowledge.uuid == second)

        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func explicitAcknowledgementMode() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master, implicitAcknowledgements: false)
        try await started.subscribed(by: master, as: "fw-1")
        try await master.sendUpdate(to: started.subscribe.peer, taskID: "t-1", agentID: "a-1", state: .taskRunning, uuid: Data([9]))
        let status = try #require(await started.scheduler.callbacks.next()?.status)

        // Nothing is acknowledged by itself: the next call the master sees is ours.
        try await started.driver.reconcile(tasks: [(taskID: "t-1", agentID: "a-1"), (taskID: "t-2", agentID: nil)])
        let reconcile = try #require(await master.nextNonSubscribeCall())
        #expect(reconcile.call.type == .reconcile)
        #expect(reconcile.call.reconcile.tasks.map(\.taskID.value) == ["t-1", "t-2"])
        #expect(reconcile.call.reconcile.tasks.map(\.hasAgentID) == [true, false])

        try await started.driver.acknowledge(status: status)
        let ack = try #require(await master.nextNonSubscribeCall())
        #expect(ack.call.type == .acknowledge)
        #expect(ack.call.acknowledge.uuid == Data([9]))

        var withoutUUID = status
        withoutUUID.clearUuid()
        await #expect(throws: SchedulerDriverError.self) { try await started.driver.acknowledge(status: withoutUUID) }

        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func implicitModeRefusesExplicitAcknowledgements() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")
        var status = Agora_V1_TaskStatus()
        status.uuid = Data([1])
        do {
            try await started.driver.acknowledge(status: status)
            Issue.record("expected invalidCall")
        } catch {
            #expect(error.code == .invalidCall)
        }
        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func resubscribesWithTheSameIDAfterTheMasterRestarts() async throws {
        let master = try FakeMaster()
        let address = master.address
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")
        try await started.driver.suppress(roles: [])
        #expect(try #require(await master.nextNonSubscribeCall()).call.type == .suppress)

        await master.shutdown()
        #expect(try #require(await started.scheduler.callbacks.next()).isDisconnected)
        #expect(await !started.driver.isSubscribed)
        do {
            try await started.driver.decline(offerIDs: ["o-1"])
            Issue.record("a call while disconnected must throw")
        } catch {
            #expect(error.code == .notSubscribed)
        }

        let restarted = try FakeMaster(binding: address)
        let resubscribe = try #require(await restarted.nextCall(.subscribe))
        #expect(resubscribe.call.frameworkID.value == "fw-1")
        #expect(resubscribe.call.subscribe.frameworkInfo.id.value == "fw-1")
        #expect(resubscribe.call.subscribe.suppressedRoles == ["web"], "suppression survives re-subscription")
        try await restarted.sendSubscribed(to: resubscribe.peer, frameworkID: "fw-1")
        let again = try #require(await started.scheduler.callbacks.first { $0.subscribedID != nil })
        #expect(again.subscribedID == "fw-1")

        try await started.driver.revive()
        let revive = try #require(await restarted.nextCall(.revive))
        #expect(revive.call.frameworkID.value == "fw-1")

        await started.driver.stop(failover: true)
        await restarted.shutdown()
    }

    @Test func resubscribesWhenHeartbeatsStop() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1", heartbeatSeconds: 0.2)

        // The master stays silent: after 3 × 0.2 s the driver counts it as lost.
        #expect(try #require(await started.scheduler.callbacks.next()).isDisconnected)
        // A loaded machine may still deliver a retry of the first SUBSCRIBE here.
        let resubscribe = try #require(await master.nextResubscribe(as: "fw-1"))
        try await master.sendSubscribed(to: resubscribe.peer, frameworkID: "fw-1", heartbeatSeconds: 15)
        #expect(try #require(await started.scheduler.callbacks.first { $0.subscribedID != nil }).subscribedID == "fw-1")

        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func anErrorAskingToSubscribeAgainMakesTheDriverResubscribe() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")

        var error = Agora_V1_Scheduler_Event()
        error.type = .error
        error.error.message = "framework fw-1 is disconnected; subscribe again with its ID to resume"
        try await master.send(error, to: started.subscribe.peer)
        #expect(try #require(await started.scheduler.callbacks.next()).errorMessage == error.error.message)
        #expect(try #require(await started.scheduler.callbacks.next()).isDisconnected)
        // A loaded machine may still deliver a retry of the first SUBSCRIBE here.
        #expect(await master.nextResubscribe(as: "fw-1") != nil)

        await started.driver.stop(failover: true)
        await master.shutdown()
    }

    @Test func stopWithoutFailoverTearsTheFrameworkDown() async throws {
        let master = try FakeMaster()
        let started = try await Started(master: master)
        try await started.subscribed(by: master, as: "fw-1")

        let driver = started.driver
        let running = Task { await driver.run() }
        await driver.stop()
        await running.value
        let teardown = try #require(await master.nextCall(.teardown))
        #expect(teardown.call.frameworkID.value == "fw-1")
        #expect(started.store.value == nil, "a torn-down framework's ID is forgotten")
        do {
            try await driver.decline(offerIDs: ["o-1"])
            Issue.record("a stopped driver must refuse calls")
        } catch {
            #expect(error.code == .notRunning)
        }
        await master.shutdown()
    }
}
