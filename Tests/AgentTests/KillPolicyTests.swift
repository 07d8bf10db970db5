import Foundation
import Glibc
import Testing

@testable import ProcessSupervision

@Suite("Kill policy")
struct KillPolicyTests {
    let monitor = ChildProcessMonitor.shared

    @Test("SIGTERM ends a process that does not trap it, well within the grace period")
    func termSuffices() async throws {
        let pid = try monitor.spawn(.shell("sleep 60"))
        let clock = ContinuousClock()
        let start = clock.now
        let status = await KillPolicy.terminate(processGroup: pid, gracePeriod: .seconds(20), monitor: monitor)
        #expect(status == .signaled(signal: SIGTERM))
        // Well inside the 20 s grace (a loaded test machine can stall a task for seconds).
        #expect(clock.now - start < .seconds(15))
    }

    @Test("a group that ignores SIGTERM is SIGKILLed after the grace period, children included")
    func killAfterGrace() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        let childFile = directory + "/child.pid"
        let pid = try monitor.spawn(.shell("trap '' TERM; sleep 60 & echo $! > \(childFile); wait"))
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.read(childFile).hasSuffix("\n") })
        let child = try #require(pid_t(ContainerizerTestSupport.read(childFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(getpgid(child) == pid)

        let clock = ContinuousClock()
        let start = clock.now
        let status = await KillPolicy.terminate(processGroup: pid, gracePeriod: .milliseconds(500), monitor: monitor)
        let elapsed = clock.now - start
        #expect(status == .signaled(signal: SIGKILL))
        #expect(elapsed >= .milliseconds(500))
        #expect(elapsed < .seconds(5))
        // The orphaned `sleep` is reaped by init; until then it may linger as a zombie.
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.isGone(child) })
        #expect(await ContainerizerTestSupport.eventually { kill(child, 0) == -1 && errno == ESRCH })
    }

    @Test("leftover group members are killed even when the leader exits on SIGTERM")
    func leftoversKilled() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        let childFile = directory + "/child.pid"
        // The leader exits on TERM at once; its child ignores TERM and would survive.
        let pid = try monitor.spawn(.shell("(trap '' TERM; exec sleep 60) & echo $! > \(childFile); wait"))
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.read(childFile).hasSuffix("\n") })
        let child = try #require(pid_t(ContainerizerTestSupport.read(childFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        let status = await KillPolicy.terminate(processGroup: pid, gracePeriod: .seconds(10), monitor: monitor)
        #expect(status == .signaled(signal: SIGTERM))
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.isGone(child) })
    }

    @Test("terminating a group whose leader already exited returns the recorded status")
    func alreadyExited() async throws {
        let pid = try monitor.spawn(.shell("exit 2"))
        #expect(await monitor.waitForExit(pid) == .exited(code: 2))
        let status = await KillPolicy.terminate(processGroup: pid, gracePeriod: .seconds(1), monitor: monitor)
        #expect(status == .exited(code: 2))
    }
}
