import AgoraProto
import Testing

@testable import BuiltInExecutor

@Suite("Health check state machine")
struct HealthCheckTrackerTests {
    /// delay 5 s, interval 10 s, timeout 2 s, 3 failures in a row, grace 30 s; the task started at 100 s.
    static let policy = HealthCheckPolicy(delay: .seconds(5), interval: .seconds(10), timeout: .seconds(2),
                                          consecutiveFailures: 3, gracePeriod: .seconds(30))

    func tracker(_ policy: HealthCheckPolicy = policy) -> HealthCheckTracker {
        HealthCheckTracker(policy: policy, taskStartedAt: .seconds(100))
    }

    @Test("the first check runs delay after the task started")
    func firstCheck() {
        #expect(tracker().firstCheck == .runCheck(at: .seconds(105)))
    }

    @Test("the first success is reported once; later ones only schedule the next check")
    func healthyReportedOnce() {
        var tracker = tracker()
        #expect(tracker.checkCompleted(.healthy, now: .seconds(106)) == [
            .reportHealth(healthy: true, message: "the health check passed"), .runCheck(at: .seconds(116)),
        ])
        #expect(tracker.checkCompleted(.healthy, now: .seconds(117)) == [.runCheck(at: .seconds(127))])
        #expect(tracker.healthy == true)
    }

    @Test("failures inside the grace period before any success are ignored")
    func graceIgnoresEarlyFailures() {
        var tracker = tracker()
        for now in [105, 115, 125, 129] {
            #expect(tracker.checkCompleted(.unhealthy("refused"), now: .seconds(now)) == [.runCheck(at: .seconds(now + 10))])
        }
        #expect(tracker.failuresInARow == 0)
        #expect(tracker.healthy == nil)
        // At 30 s after the start the grace period is over.
        #expect(tracker.checkCompleted(.unhealthy("refused"), now: .seconds(130)) == [
            .reportHealth(healthy: false, message: "the health check failed: refused"), .runCheck(at: .seconds(140)),
        ])
        #expect(tracker.failuresInARow == 1)
    }

    @Test("a success ends the grace period early: the next failure counts")
    func successEndsGrace() {
        var tracker = tracker()
        _ = tracker.checkCompleted(.healthy, now: .seconds(105))
        #expect(tracker.checkCompleted(.unhealthy("HTTP GET / returned 500"), now: .seconds(110)) == [
            .reportHealth(healthy: false, message: "the health check failed: HTTP GET / returned 500"),
            .runCheck(at: .seconds(120)),
        ])
    }

    @Test("N failures in a row kill the task, naming the count and the last reason")
    func killAfterConsecutiveFailures() {
        var tracker = tracker()
        _ = tracker.checkCompleted(.healthy, now: .seconds(105))
        _ = tracker.checkCompleted(.unhealthy("HTTP GET /health returned 500"), now: .seconds(140))
        #expect(tracker.checkCompleted(.unhealthy("HTTP GET /health returned 500"), now: .seconds(150))
            == [.runCheck(at: .seconds(160))])
        #expect(tracker.checkCompleted(.unhealthy("HTTP GET /health returned 503"), now: .seconds(160)) == [
            .killTask(message: "the health check failed 3 times in a row: HTTP GET /health returned 503"),
        ])
        #expect(tracker.killed)
        // Nothing happens after the kill.
        #expect(tracker.checkCompleted(.healthy, now: .seconds(170)) == [])
    }

    @Test("one allowed failure kills at the first counted failure, after reporting it")
    func killAtFirstFailure() {
        var policy = Self.policy
        policy.consecutiveFailures = 1
        policy.gracePeriod = .zero
        var tracker = tracker(policy)
        #expect(tracker.checkCompleted(.unhealthy("exited with status 1"), now: .seconds(105)) == [
            .reportHealth(healthy: false, message: "the health check failed: exited with status 1"),
            .killTask(message: "the health check failed once: exited with status 1"),
        ])
    }

    @Test("a success resets the count of failures in a row, and every flip is reported")
    func successResetsCount() {
        var tracker = tracker()
        _ = tracker.checkCompleted(.healthy, now: .seconds(105))
        _ = tracker.checkCompleted(.unhealthy("a"), now: .seconds(140))
        _ = tracker.checkCompleted(.unhealthy("b"), now: .seconds(150))
        #expect(tracker.checkCompleted(.healthy, now: .seconds(160)) == [
            .reportHealth(healthy: true, message: "the health check passed"), .runCheck(at: .seconds(170)),
        ])
        #expect(tracker.failuresInARow == 0)
        _ = tracker.checkCompleted(.unhealthy("c"), now: .seconds(170))
        let afterTwoMore = tracker.checkCompleted(.unhealthy("d"), now: .seconds(180))
        #expect(afterTwoMore == [.runCheck(at: .seconds(190))], "two failures after the reset must not kill")
    }

    @Test("consecutive_failures 0 never kills")
    func zeroNeverKills() {
        var policy = Self.policy
        policy.consecutiveFailures = 0
        policy.gracePeriod = .zero
        var tracker = tracker(policy)
        for step in 0..<50 {
            let now = Duration.seconds(105 + step * 10)
            #expect(!tracker.checkCompleted(.unhealthy("down"), now: now).contains { if case .killTask = $0 { true } else { false } })
        }
        #expect(tracker.failuresInARow == 50)
        #expect(!tracker.killed)
    }
}

@Suite("Health check validation")
struct HealthCheckSpecTests {
    func spec(_ configure: (inout Agora_V1_HealthCheck) -> Void) throws(HealthCheckError) -> HealthCheckSpec {
        var check = Agora_V1_HealthCheck()
        configure(&check)
        return try HealthCheckSpec(check, directory: "/sandbox", environment: ["PORT0": "31000"])
    }

    @Test("unset timings take Mesos' defaults")
    func defaults() throws {
        let spec = try spec { $0.type = .tcp; $0.tcp.port = 8080 }
        #expect(spec.policy == HealthCheckPolicy(delay: .seconds(15), interval: .seconds(10), timeout: .seconds(20),
                                                 consecutiveFailures: 3, gracePeriod: .seconds(10)))
        #expect(spec.probe == .tcp(port: 8080))
    }

    @Test("an HTTP check defaults its path to / and keeps its statuses")
    func httpCheck() throws {
        let spec = try spec {
            $0.type = .http
            $0.http.port = 31000
            $0.http.statuses = [200, 204]
            $0.delaySeconds = 0.25
        }
        #expect(spec.probe == .http(port: 31000, path: "/", statuses: [200, 204]))
        #expect(spec.probe.description == "HTTP GET /")
        #expect(spec.policy.delay == .milliseconds(250))
    }

    @Test("a COMMAND check runs in the task's directory with its environment plus its own")
    func commandCheck() throws {
        let spec = try spec {
            $0.type = .command
            $0.command.value = "curl -f localhost:$PORT0"
            $0.command.environment.variables = [{ var variable = Agora_V1_Environment.Variable(); variable.name = "X"; variable.value = "1"; return variable }()]
        }
        guard case .command(let command) = spec.probe else {
            Issue.record("expected a command probe, got \(spec.probe)")
            return
        }
        #expect(command.shell)
        #expect(command.command == "curl -f localhost:$PORT0")
        #expect(command.workingDirectory == "/sandbox")
        #expect(command.environment == ["PORT0": "31000", "X": "1"])
    }

    @Test("an unset type is taken from the one check that is filled in")
    func inferredType() throws {
        #expect(try spec { $0.http.port = 80 }.probe == .http(port: 80, path: "/", statuses: []))
    }

    private static func check(_ configure: (inout Agora_V1_HealthCheck) -> Void) -> Agora_V1_HealthCheck {
        var check = Agora_V1_HealthCheck()
        configure(&check)
        return check
    }

    @Test("invalid checks are refused with the field at fault", arguments: [
        ("no type", check { $0.delaySeconds = 1 }, "needs a type"),
        ("HTTP without a port", check { $0.type = .http }, "http.port"),
        ("https", check { $0.type = .http; $0.http.port = 443; $0.http.scheme = "https" }, "http scheme only"),
        ("bad status", check { $0.type = .http; $0.http.port = 80; $0.http.statuses = [42] }, "42"),
        ("TCP port too big", check { $0.type = .tcp; $0.tcp.port = 70_000 }, "tcp.port"),
        ("empty command", check { $0.type = .command; $0.command.value = " " }, "no command"),
        ("negative delay", check { $0.type = .tcp; $0.tcp.port = 1; $0.delaySeconds = -1 }, "delay_seconds"),
        ("zero interval", check { $0.type = .tcp; $0.tcp.port = 1; $0.intervalSeconds = 0 }, "interval_seconds"),
        ("infinite timeout", check { $0.type = .tcp; $0.tcp.port = 1; $0.timeoutSeconds = .infinity }, "timeout_seconds"),
    ])
    func invalid(name: String, check: Agora_V1_HealthCheck, expected: String) {
        do {
            let spec = try HealthCheckSpec(check, directory: "/sandbox", environment: [:])
            Issue.record("\(name): accepted as \(spec)")
        } catch {
            #expect(error.description.contains(expected), "\(name): \(error.description)")
        }
    }
}
