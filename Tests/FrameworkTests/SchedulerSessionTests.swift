import AgoraProto
@testable import Framework
import Testing

/// The subscription logic alone, with made-up times.
struct SchedulerSessionTests {
    typealias Directive = SchedulerSession.Directive

    func info(roles: [String] = ["web"]) -> Agora_V1_FrameworkInfo {
        var info = Agora_V1_FrameworkInfo()
        info.name = "test"
        info.roles = roles
        return info
    }

    func subscribedEvent(_ id: String, heartbeatSeconds: Double = 1) -> Agora_V1_Scheduler_Event {
        var event = Agora_V1_Scheduler_Event()
        event.type = .subscribed
        event.subscribed.frameworkID.value = id
        event.subscribed.heartbeatIntervalSeconds = heartbeatSeconds
        return event
    }

    func subscribeCalls(_ directives: [Directive]) -> [Agora_V1_Scheduler_Call] {
        directives.compactMap { directive in
            if case .send(let call) = directive, call.type == .subscribe { return call }
            return nil
        }
    }

    func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1_000)) }

    @Test func subscribeIsRetriedWithDoublingBackoffCappedAtEightSeconds() {
        var session = SchedulerSession(frameworkInfo: info(), frameworkID: nil)
        let first = session.connected(now: .zero)
        #expect(subscribeCalls(first).count == 1)
        var sentAt: [Double] = []
        for step in 1...240 {  // 24 s in 0.1 s ticks
            let now = Double(step) / 10
            if !subscribeCalls(session.tick(now: seconds(now))).isEmpty { sentAt.append(now) }
        }
        #expect(sentAt == [0.5, 1.5, 3.5, 7.5, 15.5, 23.5])
    }

    @Test func noSubscribeWhileTheConnectionIsDown() {
        var session = SchedulerSession(frameworkInfo: info(), frameworkID: "fw-1")
        let beforeConnection = session.tick(now: seconds(10))
        #expect(beforeConnection.isEmpty, "nothing before the first connection")
        _ = session.connected(now: seconds(10))
        _ = session.disconnected(now: seconds(11))
        let whileDown = session.tick(now: seconds(30))
        #expect(whileDown.isEmpty)
        let calls = subscribeCalls(session.connected(now: seconds(31)))
        #expect(calls.count == 1)
        #expect(calls.first?.frameworkID.value == "fw-1")
        #expect(calls.first?.subscribe.frameworkInfo.id.value == "fw-1")
    }

    @Test func subscribedPersistsAndNotifiesOnceAndStopsRetries() {
        var session = SchedulerSession(frameworkInfo: info(), frameworkID: nil)
        let first = session.connected(now: .zero)
        #expect(subscribeCalls(first).first?.hasFrameworkID == false)
        let directives = session.received(subscribedEvent("fw-1"), now: seconds(0.2))
        #expect(directives == [.persistFrameworkID("fw-1"), .notifySubscribed(frameworkID: "fw-1", masterInfo: Agora_V1_MasterInfo())])
        #expect(session.isSubscribed)
        let repeated = session.received(subscribedEvent("fw-1"), now: seconds(0.3))
        #expect(repeated.isEmpty, "a repeated SUBSCRIBED is harmless")
        let later = session.tick(now: seconds(1))
        #expect(later.isEmpty, "no more retries once subscribed")
    }

    @Test func aDuplicateFrameworkFromARetriedFirstSubscribeIsTornDown() {
        var session = SchedulerSession(frameworkInfo: info(), frameworkID: nil)
        _ = session.connected(now: .zero)
        _ = session.tick(now: seconds(0.5))  // retry: the master will register two frameworks
        _ = session.received(subscribedEvent("fw-1"), now: seconds(0.6))
        let directives = session.received(subscribedEvent("fw-2"), now: seconds(0.7))
        #expect(directives == [.send(SchedulerSession.call(.teardown, frameworkID: "fw-2"))])
        #expect(session.frameworkID == "fw-1")
    }

    @Test func aSilentMasterCountsAsLostAfterThreeHeartbeats() {
        var session = SchedulerSession(frameworkInfo: info(), frameworkID: nil)
        _ = session.connected(now: .zero)
        _ = session.received(subscribedEvent("fw-1", heartbeatSeconds: 1), now: .zero)
        var heartbeat = Agora_V1_Scheduler_Event()
        heartbeat.type = .heartbeat
        _ = session.received(heartbeat, now: seconds(2))
        let early = session.tick(now: seconds(4.9))
        #expect(early.isEmpty)
        let directives = session.tick(now: seconds(5.1))
        #expect(directives.first.map { if case .notifyDisconnected = $0 { true } else { false } } == true)
        #expect(subscribeCalls(directives).first?.frameworkID.value == "fw-1")
        #expect(!session.isSubscribed)
    }

    @Test func eventsOutsideASubscriptionAreDroppedButErrorsDelivered() {
        var session = SchedulerSession(frameworkInfo: info(), frameworkID: nil)
        _ = session.connected(now: .zero)
        var offers = Agora_V1_Scheduler_Event()
        offers.type = .offers
        let dropped = session.received(offers, now: seconds(0.1))
        #expect(dropped.isEmpty)
        var error = Agora_V1_Scheduler_Event()
        error.type = .error
        error.error.message = "invalid role \"a/b\""
        let delivered = session.received(error, now: seconds(0.1))
        #expect(delivered == [.deliver(error)])
        #expect(session.call(.decline) == nil, "no calls before SUBSCRIBED")
    }

    @Test func suppressedRolesAreSentWithEverySubscribe() {
        var session = SchedulerSession(frameworkInfo: info(roles: ["web", "batch"]), frameworkID: "fw-1")
        session.suppress(roles: [])
        #expect(session.subscribeCall.subscribe.suppressedRoles == ["batch", "web"])
        session.revive(roles: ["web"])
        #expect(session.subscribeCall.subscribe.suppressedRoles == ["batch"])
        session.revive(roles: [])
        #expect(session.subscribeCall.subscribe.suppressedRoles.isEmpty)
    }

    @Test func anExplicitIDInTheFrameworkInfoWinsOverTheStoredOne() {
        var explicit = info()
        explicit.id.value = "fw-explicit"
        #expect(SchedulerSession(frameworkInfo: explicit, frameworkID: "fw-stored").frameworkID == "fw-explicit")
        #expect(SchedulerSession(frameworkInfo: info(), frameworkID: "fw-stored").frameworkID == "fw-stored")
    }
}
