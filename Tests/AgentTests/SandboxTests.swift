import Foundation
import Testing

@testable import Agent

@Suite("Sandbox")
struct SandboxTests {
    @Test("the sandbox path follows the Mesos layout")
    func pathLayout() throws {
        let sandbox = try Sandbox(workDir: "/var/lib/agora/", frameworkID: "fw-1", executorID: "ex.1", containerID: "c1")
        #expect(sandbox.path == "/var/lib/agora/frameworks/fw-1/executors/ex.1/runs/c1")
        #expect(sandbox.stdoutPath == sandbox.path + "/stdout")
        #expect(sandbox.stderrPath == sandbox.path + "/stderr")
    }

    @Test("IDs that could escape the sandbox are rejected", arguments: [
        ("", "is empty"), (".", "is not allowed"), ("..", "is not allowed"),
        ("a/b", "contains '/'"), ("../etc", "contains '/'"), ("a\u{0}b", "contains a NUL byte"),
    ])
    func rejectsBadIDs(id: String, reason: String) {
        for position in 0..<3 {
            var ids = ["fw", "ex", "c1"]
            ids[position] = id
            let kind = ["framework ID", "executor ID", "container ID"][position]
            let error = #expect(throws: SandboxError.self) {
                try Sandbox(workDir: "/tmp", frameworkID: ids[0], executorID: ids[1], containerID: ids[2])
            }
            #expect(error?.description.hasPrefix(kind) == true)
            #expect(error?.description.hasSuffix(reason) == true)
        }
    }

    @Test("create makes the directory and empty output files, and keeps existing ones")
    func create() throws {
        let workDir = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(workDir) }
        let sandbox = try Sandbox.create(workDir: workDir, frameworkID: "fw", executorID: "ex", containerID: "c1")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: sandbox.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(ContainerizerTestSupport.read(sandbox.stdoutPath) == "")
        #expect(FileManager.default.fileExists(atPath: sandbox.stderrPath))
        try "kept\n".write(toFile: sandbox.stdoutPath, atomically: false, encoding: .utf8)
        let again = try Sandbox.create(workDir: workDir, frameworkID: "fw", executorID: "ex", containerID: "c1")
        #expect(again == sandbox)
        #expect(ContainerizerTestSupport.read(sandbox.stdoutPath) == "kept\n")
    }

    @Test("create fails clearly when a path component is a file")
    func createOverFile() throws {
        let workDir = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(workDir) }
        try "".write(toFile: workDir + "/frameworks", atomically: false, encoding: .utf8)
        let error = #expect(throws: SandboxError.self) {
            try Sandbox.create(workDir: workDir, frameworkID: "fw", executorID: "ex", containerID: "c1")
        }
        #expect(error?.description.contains(workDir + "/frameworks") == true)
    }

    @Test("the task environment carries sandbox, IDs, host and ports, with user values on top")
    func environment() {
        let environment = Sandbox.environment(
            sandbox: "/w/s", taskID: "t1", frameworkID: "f1", agentID: "a1", hostname: "node-7",
            ports: [31000, 31005], user: ["PATH": "/opt/bin", "EXTRA": "x", "PORT0": "override"])
        #expect(environment == [
            "MESOS_SANDBOX": "/w/s", "AGORA_SANDBOX": "/w/s",
            "AGORA_TASK_ID": "t1", "AGORA_FRAMEWORK_ID": "f1", "AGORA_AGENT_ID": "a1",
            "HOST": "node-7", "PORT0": "override", "PORT1": "31005", "PORTS": "31000,31005",
            "PATH": "/opt/bin", "EXTRA": "x",
        ])
    }

    @Test("without ports there is no PORTS, and PATH and HOST have defaults")
    func environmentDefaults() {
        let environment = Sandbox.environment(sandbox: "/s", taskID: "t", frameworkID: "f", agentID: "a")
        #expect(environment["PORTS"] == nil)
        #expect(environment["PORT0"] == nil)
        #expect(environment["PATH"] == Sandbox.defaultPath)
        #expect(environment["HOST"] == Sandbox.hostname())
        #expect(environment["HOST"]?.isEmpty == false)
    }
}
