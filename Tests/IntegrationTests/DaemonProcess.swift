import Foundation
import Synchronization

/// A real `agora` process started by a test: its ready line is awaited (never a
/// sleep), its output is collected, and only its own PID is ever signalled.
final class DaemonProcess: Sendable {
    private let process: Process
    private struct Waiter {
        var text: String
        var id: String
        var continuation: CheckedContinuation<String?, Never>
    }

    private final class Output: Sendable {
        let state = Mutex<(stdout: String, lines: [String], waiters: [Waiter])>(("", [], []))
    }

    private let output = Output()
    let stderrPath: String

    /// Starts `agora ARGUMENTS…` (or another program built with it, such as an
    /// example framework); stderr goes to a file in the temporary directory.
    init(_ arguments: [String], name: String, executable: URL = AgoraBinary.url) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        stderrPath = FileManager.default.temporaryDirectory.appendingPathComponent("agora-test-\(name)-\(UUID().uuidString.prefix(8)).log").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        let output = output
        Thread.detachNewThread {
            var pending = ""
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending += String(decoding: chunk, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending = String(pending[pending.index(after: newline)...])
                    let ready = output.state.withLock { state -> [CheckedContinuation<String?, Never>] in
                        state.stdout += line + "\n"
                        state.lines.append(line)
                        let matched = state.waiters.filter { line.contains($0.text) }.map(\.continuation)
                        state.waiters.removeAll { line.contains($0.text) }
                        return matched
                    }
                    for waiter in ready { waiter.resume(returning: line) }
                }
            }
            let waiters = output.state.withLock { state in
                defer { state.waiters = [] }
                return state.waiters.map(\.continuation)
            }
            for waiter in waiters { waiter.resume(returning: nil) }
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { output.state.withLock { $0.stdout } }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The first stdout line containing `text` (already printed or still to come),
    /// or nil when the process closes its output or `timeout` passes first.
    func line(containing text: String, timeout: Duration = .seconds(30)) async -> String? {
        let waiterID = UUID().uuidString
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let existing = self.output.state.withLock { state -> String? in
                        if let line = state.lines.first(where: { $0.contains(text) }) { return line }
                        state.waiters.append(Waiter(text: text, id: waiterID, continuation: continuation))
                        return nil
                    }
                    if let existing { continuation.resume(returning: existing) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            // Release a still-waiting continuation so the group can finish.
            let stale = self.output.state.withLock { state -> [CheckedContinuation<String?, Never>] in
                let matched = state.waiters.filter { $0.id == waiterID }.map(\.continuation)
                state.waiters.removeAll { $0.id == waiterID }
                return matched
            }
            for waiter in stale { waiter.resume(returning: nil) }
            group.cancelAll()
            return first
        }
    }

    /// The ready line's fields; fails the caller when the daemon never gets ready.
    func readyFields(timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        guard let line = await line(containing: "\"ready\":true", timeout: timeout),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw DaemonError("agora \(process.arguments?.first ?? "") did not get ready; stderr:\n\(stderr.suffix(3_000))")
        }
        return object
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it does not exit within five seconds.
    func stop() async {
        signal(SIGTERM)
        if await waitForExit(timeout: .seconds(5)) == nil {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
