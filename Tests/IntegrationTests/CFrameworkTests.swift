import Foundation
import Testing

/// `Examples/c-framework`, a framework written in C against libprotobuf-c and libzmq,
/// built with make and run against a real master and agents: the wire protocol
/// needs nothing from Swift.
@Suite(.timeLimit(.minutes(3)))
struct CFrameworkTests {
    /// The repository root: this file is `<root>/Tests/IntegrationTests/CFrameworkTests.swift`.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let exampleDirectory = repositoryRoot.appendingPathComponent("Examples/c-framework")

    struct Finished {
        var status: Int32?
        var stdout: String
        var stderr: String
    }

    /// Runs `executable ARGUMENTS…` and waits up to `timeout` for it to exit; on
    /// timeout it is sent SIGTERM and `status` is nil.
    static func run(_ executable: URL, _ arguments: [String], timeout: Duration) async throws -> Finished {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let (exits, exited) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            exited.yield(process.terminationStatus)
            exited.finish()
        }
        // Drain both pipes while the process runs so it can never block on a full pipe.
        let outData = Task.detached { stdout.fileHandleForReading.readDataToEndOfFile() }
        let errData = Task.detached { stderr.fileHandleForReading.readDataToEndOfFile() }
        try process.run()

        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await status in exits { return status }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if status == nil, process.isRunning {
            process.terminate()  // c-framework tears down on SIGTERM and exits
            process.waitUntilExit()
        }
        try? stdout.fileHandleForWriting.close()
        try? stderr.fileHandleForWriting.close()
        return Finished(status: status,
                        stdout: String(decoding: await outData.value, as: UTF8.self),
                        stderr: String(decoding: await errData.value, as: UTF8.self))
    }

    /// `make -C Examples/c-framework`; fails the test with make's output when the build fails.
    static func build() async throws -> URL {
        let make = try await run(URL(fileURLWithPath: "/usr/bin/env"), ["make", "-C", exampleDirectory.path],
                                 timeout: .seconds(120))
        try #require(make.status == 0, """
            make -C Examples/c-framework failed (status \(make.status.map(String.init) ?? "timeout")); \
            are protobuf-c-compiler, libprotobuf-c-dev, libzmq3-dev, gcc and make installed (Scripts/install-deps.sh)?
            \(make.stdout)\(make.stderr)
            """)
        let binary = exampleDirectory.appendingPathComponent("build/c-framework")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "make succeeded but \(binary.path) is missing")
        return binary
    }

    @Test func cFrameworkRunsATaskToCompletion() async throws {
        let binary = try await Self.build()
        try await TestCluster.with(agentResources: ["cpus:2;mem:2048", "cpus:2;mem:2048"]) { cluster in
            let result = try await Self.run(binary, [cluster.masterAddress], timeout: .seconds(60))
            let context = "status \(result.status.map(String.init) ?? "timeout")\nstdout:\n\(result.stdout)\nstderr:\n\(result.stderr)"
            #expect(result.status == 0, "\(context)")
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.contains { $0.contains("c-task-1 TASK_RUNNING") }, "\(context)")
            #expect(lines.contains { $0.contains("c-task-1 TASK_FINISHED") }, "\(context)")
            // The framework tore itself down after the task finished.
            let gone = try await cluster.waitForState { state in
                (state["frameworks"] as? [Any])?.isEmpty ?? false
            }
            #expect(gone, "the C framework is still registered after its TEARDOWN")
        }
    }
}
