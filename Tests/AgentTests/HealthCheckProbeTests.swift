import Foundation
import Testing

@testable import Agent
@testable import BuiltInExecutor
import ProcessSupervision

/// One health check of each kind against real servers and processes on this host.
@Suite("Health check probes", .serialized)
struct HealthCheckProbeTests {
    @Test("HTTP: 2xx is healthy, 404 is not unless listed, a closed port and a silent server fail")
    func http() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        try Data("ok\n".utf8).write(to: URL(fileURLWithPath: directory + "/health"))
        let server = try await PythonHTTPServer.start(serving: directory)

        let healthy = HealthCheckSpec.Probe.http(port: server.port, path: "/health", statuses: [])
        #expect(await healthy.run(timeout: .seconds(5)) == .healthy)

        let missing = HealthCheckSpec.Probe.http(port: server.port, path: "/missing", statuses: [])
        #expect(await missing.run(timeout: .seconds(5)) == .unhealthy("HTTP GET /missing returned 404"))
        let listed = HealthCheckSpec.Probe.http(port: server.port, path: "/missing", statuses: [404])
        #expect(await listed.run(timeout: .seconds(5)) == .healthy)
        let notListed = HealthCheckSpec.Probe.http(port: server.port, path: "/health", statuses: [204])
        #expect(await notListed.run(timeout: .seconds(5)) == .unhealthy("HTTP GET /health returned 200"))

        let closedPort = try NetworkTestSupport.unusedPort()
        let refused = await HealthCheckSpec.Probe.http(port: closedPort, path: "/", statuses: []).run(timeout: .seconds(5))
        #expect("\(refused)".contains("Connection refused"), "got \(refused)")

        let silent = try SilentListener()
        let timedOut = await HealthCheckSpec.Probe.http(port: silent.port, path: "/", statuses: []).run(timeout: .milliseconds(300))
        #expect("\(timedOut)".contains("timed out"), "got \(timedOut)")
        await server.stop()
    }

    @Test("TCP: a listener is healthy, a closed port is not")
    func tcp() async throws {
        let listener = try SilentListener()
        #expect(await HealthCheckSpec.Probe.tcp(port: listener.port).run(timeout: .seconds(2)) == .healthy)
        let closedPort = try NetworkTestSupport.unusedPort()
        let refused = await HealthCheckSpec.Probe.tcp(port: closedPort).run(timeout: .seconds(2))
        #expect(refused == .unhealthy("connection to 127.0.0.1:\(closedPort) failed: Connection refused"))
    }

    @Test("COMMAND: exit 0 is healthy, another status is not, and a slow check is killed at the timeout")
    func command() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        func probe(_ line: String) -> HealthCheckSpec.Probe {
            .command(SpawnSpec(command: line, shell: true, environment: ["PATH": Sandbox.defaultPath, "WANT": "here"],
                               workingDirectory: directory, stdoutPath: "/dev/null", stderrPath: "/dev/null"))
        }
        try Data().write(to: URL(fileURLWithPath: directory + "/here"))
        // It runs in the task's directory, with the task's environment.
        #expect(await probe("test -f \"$WANT\"").run(timeout: .seconds(5)) == .healthy)
        #expect(await probe("exit 3").run(timeout: .seconds(5)) == .unhealthy("command check `exit 3` exited with status 3"))

        let pidFile = directory + "/sleeper.pid"
        let slow = await probe("echo $$ > \(pidFile); exec sleep 30").run(timeout: .milliseconds(300))
        #expect(slow == .unhealthy("command check `echo $$ > \(pidFile); exec sleep 30` timed out after 0.3 seconds"))
        let sleeper = try #require(Int32(ContainerizerTestSupport.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.isGone(sleeper) })
    }
}
