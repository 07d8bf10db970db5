import AgoraProto
import Foundation
@testable import Framework
import Testing

/// The executor protocol logic alone, with made-up times.
struct ExecutorSessionTests {
    typealias Directive = ExecutorSession.Directive

    static let timing = ExecutorSession.Timing(subscribeRetryInterval: .milliseconds(500),
                                               updateRetryInterval: .seconds(2),
                                               recoveryTimeout: .seconds(60))

    func session() -> ExecutorSession {
        ExecutorSession(frameworkID: "fw-1", executorID: "exec-1", timing: Self.timing)
    }

    func event(_ type: Agora_V1_Executor_Event.TypeEnum) -> Agora_V1_Executor_Event {
        var event = Agora_V1_Executor_Event()
        event.type = type
        return event
    }

    func status(_ taskID: String, _ state: Agora_V1_TaskState = .taskRunning, uuid: UInt8) -> Agora_V1_TaskStatus {
        var status = Agora_V1_TaskStatus()
        status.taskID.value = taskID
        status.state = state
        status.uuid = Data(repeating: uuid, count: 16)
        return status
    }

    func acknowledged(_ status: Agora_V1_TaskStatus) -> Agora_V1_Executor_Event {
        var event = event(.acknowledged)
        event.acknowledged.taskID = status.taskID
        event.acknowledged.uuid = status.uuid
        return event
    }

    func launch(_ taskID: String) -> Agora_V1_Executor_Event {
        var event = event(.launch)
        event.launch.task.taskID.value = taskID
        return event
    }

    /// The calls among `directives`, in order.
    func calls(_ directives: [Directive]) -> [Agora_V1_Executor_Call] {
        directives.compactMap { if case .send(let call) = $0 { call } else { nil } }
    }

    /// A session connected and subscribed at time zero.
    func subscribedSession() -> ExecutorSession {
        var session = session()
        _ = session.connected(now: .zero)
        _ = session.received(event(.subscribed), now: .zero)
        return session
    }

    @Test func subscribeIsRetriedUntilSubscribed() {
        var session = session()
        #expect(session.tick(now: .seconds(1)).isEmpty, "nothing is sent before the connection is up")
        let first = calls(session.connected(now: .seconds(1)))
        #expect(first.map(\.type) == [.subscribe])
        #expect(first.first?.frameworkID.value == "fw-1")
        #expect(first.first?.executorID.value == "exec-1")
        #expect(session.tick(now: .milliseconds(1400)).isEmpty)
        #expect(calls(session.tick(now: .milliseconds(1500))).map(\.type) == [.subscribe])
        #expect(calls(session.tick(now: .milliseconds(2000))).map(\.type) == [.subscribe])

        var subscribed = event(.subscribed)
        subscribed.subscribed.agentInfo.hostname = "agent-host"
        #expect(session.received(subscribed, now: .milliseconds(2100)) == [.notifyRegistered(subscribed.subscribed)])
        #expect(session.isSubscribed)
        #expect(session.tick(now: .seconds(10)).isEmpty, "no more SUBSCRIBE once subscribed")
        #expect(session.received(subscribed, now: .seconds(11)).isEmpty, "the answer to a retry is ignored")
    }

    @Test func subscribedFromAConnectionThatIsGoneIsIgnored() {
        var session = session()
        _ = session.connected(now: .zero)
        _ = session.disconnected(now: .milliseconds(100))
        #expect(session.received(event(.subscribed), now: .milliseconds(200)).isEmpty)
        #expect(!session.isSubscribed)
        #expect(session.tick(now: .seconds(5)).isEmpty, "SUBSCRIBE waits for the connection")
    }

    @Test func updatesAreResentUntilAcknowledged() throws {
        var session = subscribedSession()
        let running = status("t1", uuid: 1)
        let sent = calls(try session.update(running, now: .seconds(1)))
        #expect(sent.map(\.type) == [.update])
        #expect(sent.first?.update.status.source == .executor)
        #expect(sent.first?.update.status.executorID.value == "exec-1")
        #expect(session.pendingUpdateCount == 1)

        #expect(session.tick(now: .milliseconds(2900)).isEmpty)
        #expect(calls(session.tick(now: .seconds(3))).map(\.update.status.uuid) == [running.uuid])
        #expect(session.tick(now: .milliseconds(4900)).isEmpty)
        #expect(calls(session.tick(now: .seconds(5))).map(\.update.status.uuid) == [running.uuid])

        var unknown = acknowledged(running)
        unknown.acknowledged.uuid = Data(repeating: 9, count: 16)
        #expect(session.received(unknown, now: .seconds(6)).isEmpty)
        #expect(session.pendingUpdateCount == 1, "an acknowledgement of another uuid changes nothing")
        #expect(session.received(acknowledged(running), now: .seconds(6)).isEmpty)
        #expect(session.pendingUpdateCount == 0)
        #expect(session.tick(now: .seconds(60)).isEmpty)
    }

    @Test func updatesWhileUnsubscribedGoWithSubscribeAndAfterSubscribed() throws {
        var session = session()
        let running = status("t1", uuid: 1)
        #expect(try session.update(running, now: .zero).isEmpty, "kept until there is a subscription")
        let subscribe = calls(session.connected(now: .seconds(1)))
        #expect(subscribe.first?.subscribe.unacknowledgedUpdates.map(\.status.uuid) == [running.uuid])

        let subscribed = event(.subscribed)
        let directives = session.received(subscribed, now: .seconds(2))
        #expect(calls(directives).map(\.update.status.uuid) == [running.uuid])
        #expect(directives.last == .notifyRegistered(subscribed.subscribed))
        #expect(session.tick(now: .milliseconds(3900)).isEmpty)
        #expect(calls(session.tick(now: .seconds(4))).count == 1)
    }

    @Test func aLostAgentIsSubscribedToAgainWithWhatIsUnacknowledged() throws {
        var session = subscribedSession()
        #expect(session.received(launch("t1"), now: .zero) == [.deliver(launch("t1"))])
        #expect(session.received(launch("t2"), now: .zero) == [.deliver(launch("t2"))])
        let running = status("t1", uuid: 1)
        let finished = status("t2", .taskFinished, uuid: 2)
        _ = try session.update(running, now: .seconds(1))
        _ = try session.update(finished, now: .seconds(1))
        _ = session.received(acknowledged(finished), now: .seconds(1))

        #expect(session.disconnected(now: .seconds(2)) == [.notifyDisconnected(reason: "the connection to the agent was lost")])
        #expect(session.tick(now: .seconds(5)).isEmpty, "nothing is sent while disconnected")
        let subscribe = try #require(calls(session.connected(now: .seconds(6))).first)
        #expect(subscribe.type == .subscribe)
        #expect(subscribe.subscribe.unacknowledgedUpdates.map(\.status.uuid) == [running.uuid])
        #expect(subscribe.subscribe.unacknowledgedTasks.map(\.taskID.value) == ["t1"],
                "t2 has an acknowledged update; t1 does not")

        let directives = session.received(event(.subscribed), now: .seconds(7))
        #expect(calls(directives).map(\.update.status.uuid) == [running.uuid])
        #expect(directives.last == .notifyReregistered(Agora_V1_Executor_Event.Subscribed()))
    }

    @Test func aReplacedConnectionCountsAsLost() {
        var session = subscribedSession()
        let directives = session.connected(now: .seconds(1))
        #expect(directives.first == .notifyDisconnected(reason: "the connection to the agent was replaced"))
        #expect(calls(directives).map(\.type) == [.subscribe])
        #expect(!session.isSubscribed)
    }

    @Test(arguments: [Agora_V1_Executor_Event.TypeEnum.kill, .message, .shutdown, .error, .launchGroup])
    func eventsReachTheExecutor(type: Agora_V1_Executor_Event.TypeEnum) {
        var session = subscribedSession()
        #expect(session.received(event(type), now: .seconds(1)) == [.deliver(event(type))])
    }

    @Test func heartbeatsAreNotDelivered() {
        var session = subscribedSession()
        #expect(session.received(event(.heartbeat), now: .seconds(1)).isEmpty)
    }

    @Test func invalidUpdatesAreRefused() throws {
        var session = subscribedSession()
        #expect(throws: ExecutorDriverError.self) { try session.update(status("", uuid: 1), now: .zero) }
        #expect(throws: ExecutorDriverError.self) { try session.update(status("t1", .taskStaging, uuid: 1), now: .zero) }
        var noUUID = status("t1", uuid: 1)
        noUUID.clearUuid()
        #expect(throws: ExecutorDriverError.self) { try session.update(noUUID, now: .zero) }
        _ = try session.update(status("t1", uuid: 1), now: .zero)
        #expect(throws: ExecutorDriverError.self) { try session.update(status("t1", .taskFinished, uuid: 1), now: .zero) }
        #expect(session.pendingUpdateCount == 1)
    }

    @Test func messagesNeedASubscription() {
        #expect(session().messageCall(Data([1])) == nil)
        let call = subscribedSession().messageCall(Data([1]))
        #expect(call?.type == .message)
        #expect(call?.message.data == Data([1]))
    }

    @Test func anAgentAwayPastTheRecoveryTimeoutIsAbandonedOnce() {
        var session = subscribedSession()
        _ = session.disconnected(now: .seconds(10))
        #expect(session.tick(now: .seconds(69)).isEmpty)
        #expect(session.tick(now: .seconds(70)) == [.abandon(reason: "no subscription to the agent for 60.0 seconds")])
        #expect(session.tick(now: .seconds(200)).isEmpty)
    }
}
