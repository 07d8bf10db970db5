import Foundation
import Glibc
import Testing

@testable import ProcessSupervision

@Suite("Process spawning and reaping")
struct ProcessSpawnerTests {
    let monitor = ChildProcessMonitor.shared

    @Test("a shell command writes to its stdout file and exits 0")
    func shellEcho() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        let pid = try monitor.spawn(.shell(
            "echo hello; echo oops >&2", stdoutPath: directory + "/stdout", stderrPath: directory + "/stderr"))
        let status = await monitor.waitForExit(pid)
        #expect(status == .exited(code: 0))
        #expect(status.description == "exited with status 0")
        #expect(ContainerizerTestSupport.read(directory + "/stdout") == "hello\n")
        #expect(ContainerizerTestSupport.read(directory + "/stderr") == "oops\n")
    }

    @Test("output files are appended to, not truncated")
    func outputAppends() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        for word in ["one", "two"] {
            let pid = try monitor.spawn(.shell("echo \(word)", stdoutPath: directory + "/stdout"))
            #expect(await monitor.waitForExit(pid) == .exited(code: 0))
        }
        #expect(ContainerizerTestSupport.read(directory + "/stdout") == "one\ntwo\n")
    }

    @Test("exit codes and signals are reported", arguments: [
        ("exit 3", ProcessSupervision.ExitStatus.exited(code: 3), "exited with status 3"),
        ("kill -9 $$", .signaled(signal: 9), "killed by signal 9 (SIGKILL)"),
        ("kill -TERM $$", .signaled(signal: 15), "killed by signal 15 (SIGTERM)"),
    ])
    func exitStatuses(command: String, expected: ProcessSupervision.ExitStatus, description: String) async throws {
        let pid = try monitor.spawn(.shell(command))
        let status = await monitor.waitForExit(pid)
        #expect(status == expected)
        #expect(status.description == description)
    }

    @Test("the child leads a new process group")
    func newProcessGroup() async throws {
        let pid = try monitor.spawn(SpawnSpec(command: "sleep", arguments: ["30"], environment: ["PATH": "/usr/bin:/bin"]))
        #expect(getpgid(pid) == pid)
        #expect(getpgid(pid) != getpgrp())
        kill(pid, SIGKILL)
        #expect(await monitor.waitForExit(pid) == .signaled(signal: SIGKILL))
    }

    @Test("the environment is exactly the one given")
    func exactEnvironment() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        let environment = ["FOO": "bar baz", "PATH": "/usr/bin:/bin", "EMPTY": ""]
        let pid = try monitor.spawn(SpawnSpec(
            command: "env", environment: environment, stdoutPath: directory + "/stdout"))
        #expect(await monitor.waitForExit(pid) == .exited(code: 0))
        let lines = ContainerizerTestSupport.read(directory + "/stdout").split(separator: "\n").map(String.init)
        #expect(Set(lines) == ["FOO=bar baz", "PATH=/usr/bin:/bin", "EMPTY="])
    }

    @Test("the working directory, arguments and stdin are set up")
    func workingDirectoryAndArguments() async throws {
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        let script = "pwd; echo \"$1|$2\"; cat; echo end"
        let pid = try monitor.spawn(SpawnSpec(
            command: script, shell: true, arguments: ["a b", "c"], environment: ["PATH": "/usr/bin:/bin"],
            workingDirectory: directory, stdoutPath: "stdout"))
        #expect(await monitor.waitForExit(pid) == .exited(code: 0))
        let realDirectory = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        #expect(ContainerizerTestSupport.read(directory + "/stdout") == "\(realDirectory)\na b|c\nend\n")
    }

    @Test("a missing working directory is a clear error")
    func badWorkingDirectory() throws {
        let missing = "/nonexistent/agora-\(UUID().uuidString)"
        let error = #expect(throws: SpawnError.self) {
            try ProcessSpawner.spawn(SpawnSpec(command: "/bin/true", workingDirectory: missing))
        }
        #expect(error?.code == .badWorkingDirectory)
        #expect(error?.description.contains(missing) == true)
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test("a working directory that is a file is a clear error")
    func workingDirectoryIsFile() throws {
        let error = #expect(throws: SpawnError.self) {
            try ProcessSpawner.spawn(SpawnSpec(command: "/bin/true", workingDirectory: "/etc/hostname"))
        }
        #expect(error?.code == .badWorkingDirectory)
        #expect(error?.description == "working directory /etc/hostname is not a directory")
    }

    @Test("a missing executable is a clear error")
    func missingExecutable() throws {
        let error = #expect(throws: SpawnError.self) {
            try ProcessSpawner.spawn(SpawnSpec(command: "agora-no-such-tool", environment: ["PATH": "/usr/bin:/bin"]))
        }
        #expect(error?.code == .executableNotFound)
        #expect(error?.description == "executable agora-no-such-tool not found in PATH /usr/bin:/bin")

        let absolute = #expect(throws: SpawnError.self) {
            try ProcessSpawner.spawn(SpawnSpec(command: "/nonexistent/tool"))
        }
        #expect(absolute?.code == .executableNotFound)
        #expect(absolute?.description.contains("/nonexistent/tool") == true)
    }

    @Test("a file without execute permission is a clear error")
    func notExecutable() throws {
        let error = #expect(throws: SpawnError.self) {
            try ProcessSpawner.spawn(SpawnSpec(command: "/etc/hostname"))
        }
        #expect(error?.code == .notExecutable)
    }

    @Test("an unwritable stdout path is a clear error")
    func badStdout() throws {
        let error = #expect(throws: SpawnError.self) {
            try ProcessSpawner.spawn(.shell("true", stdoutPath: "/nonexistent/dir/stdout"))
        }
        #expect(error?.code == .cannotOpenOutput)
        #expect(error?.description.contains("stdout file /nonexistent/dir/stdout") == true)
    }

    @Test("a status that arrives before anyone waits is kept for every waiter")
    func resultBeforeWait() async throws {
        let pid = try monitor.spawn(.shell("exit 7"))
        #expect(await ContainerizerTestSupport.eventually { monitor.exitStatus(of: pid) != nil })
        #expect(await monitor.waitForExit(pid) == .exited(code: 7))
        #expect(await monitor.waitForExit(pid) == .exited(code: 7))
    }

    @Test("waiting with a timeout returns nil while the process runs")
    func waitTimeout() async throws {
        let pid = try monitor.spawn(.shell("sleep 30"))
        let clock = ContinuousClock()
        let start = clock.now
        let early = await monitor.waitForExit(pid, timeout: .milliseconds(200))
        #expect(early == nil)
        // Not the 30 s the process runs (a loaded test machine can stall a task for seconds).
        #expect(clock.now - start < .seconds(15))
        kill(-pid, SIGKILL)
        #expect(await monitor.waitForExit(pid, timeout: .seconds(10)) == .signaled(signal: SIGKILL))
    }

    @Test("many concurrent children are all reaped with their own status")
    func concurrentChildren() async throws {
        let pids = try (0..<20).map { code in (code, try monitor.spawn(.shell("sleep 0.0\(code % 10); exit \(code)"))) }
        await withTaskGroup(of: Void.self) { group in
            for (code, pid) in pids {
                group.addTask {
                    #expect(await ChildProcessMonitor.shared.waitForExit(pid) == .exited(code: Int32(code)))
                }
            }
        }
    }

    @Test("children not registered with the monitor are left to their owner")
    func foreignChildrenNotReaped() async throws {
        // Foundation's Process reaps its own child; the monitor must not steal it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 5"]
        try process.run()
        let ours = try monitor.spawn(.shell("sleep 0.3; exit 4"))
        process.waitUntilExit()
        #expect(process.terminationStatus == 5)
        #expect(await monitor.waitForExit(ours) == .exited(code: 4))
    }

    @Test("exit status descriptions name the signal")
    func descriptions() {
        #expect(ProcessSupervision.ExitStatus.exited(code: 3).description == "exited with status 3")
        #expect(ProcessSupervision.ExitStatus.signaled(signal: 9).description == "killed by signal 9 (SIGKILL)")
        #expect(ProcessSupervision.ExitStatus.signaled(signal: 64).description == "killed by signal 64")
        #expect(ProcessSupervision.ExitStatus(waitStatus: 3 << 8) == .exited(code: 3))
        #expect(ProcessSupervision.ExitStatus(waitStatus: 9) == .signaled(signal: 9))
        #expect(ProcessSupervision.ExitStatus(waitStatus: 0x80 | 11) == .signaled(signal: 11))
    }
}
