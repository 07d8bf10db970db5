import Foundation

/// A cluster started with `agora local` for one Agora run, in a fresh work dir that
/// `stop()` removes.
final class LocalClusterProcess {
    /// Why the cluster could not be started.
    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    let process: Process
    /// The cluster's work dir, with the master's and agents' logs and sandboxes.
    let workDirectory: String
    /// The master's ZeroMQ endpoint from the ready line, `tcp://HOST:PORT`.
    let masterAddress: String

    private init(process: Process, workDirectory: String, masterAddress: String) {
        self.process = process
        self.workDirectory = workDirectory
        self.masterAddress = masterAddress
    }

    /// Runs `agora local --agents N --work-dir TMP --port 0 --http-port 0` (plus the
    /// optional flags, and `--no-frameworks` where the binary has it, so that the shipped
    /// frameworks neither take offers nor CPU) and waits for its ready line.
    ///
    /// - Throws: `StartError` when the work dir cannot be made, the binary does not
    ///   start, or no ready line comes within `readyTimeout`.
    static func start(agora: String, agents: Int, isolation: String?, allocationInterval: String?,
                      readyTimeout: Duration = .seconds(60)) async throws -> LocalClusterProcess {
        var template = Array((NSTemporaryDirectory() + "agora-launch-bench-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw StartError(description: "cannot create a work dir in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
        }
        // The real path: the daemons' arguments name it, and /proc is searched for them by it.
        let workDirectory = URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
        var arguments = ["local", "--agents", String(agents), "--work-dir", workDirectory, "--port", "0", "--http-port", "0"]
        if let isolation { arguments += ["--isolation", isolation] }
        if let allocationInterval { arguments += ["--allocation-interval", allocationInterval] }
        if hasNoFrameworksFlag(agora: agora) { arguments.append("--no-frameworks") }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: agora)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        let logPath = workDirectory + "/local.log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
              let log = FileHandle(forWritingAtPath: logPath) else {
            throw StartError(description: "cannot write \(logPath)")
        }
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw StartError(description: "cannot run \(agora) \(arguments.joined(separator: " ")): \(error)")
        }

        let reader = output.fileHandleForReading
        let watchdog = Task.detached {
            try await Task.sleep(for: readyTimeout)
            kill(process.processIdentifier, SIGKILL)  // ends the read below with EOF
        }
        let ready = await Task.detached { Self.readFirstLine(reader) }.value
        watchdog.cancel()
        guard let ready, let object = try? JSONSerialization.jsonObject(with: ready) as? [String: Any],
              object["ready"] as? Bool == true, let master = object["master"] as? String else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw StartError(description: "agora local did not print a ready line; see \(logPath) and the logs next to it")
        }
        return LocalClusterProcess(process: process, workDirectory: workDirectory, masterAddress: master)
    }

    /// SIGTERM (agents stop their executors), up to 15 s of grace, then SIGKILL; the
    /// work dir is removed unless `keepWorkDirectory`.
    func stop(keepWorkDirectory: Bool = false) async {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        if !keepWorkDirectory { try? FileManager.default.removeItem(atPath: workDirectory) }
    }

    /// Whether `agora local` knows `--no-frameworks` (binaries from before the shipped
    /// frameworks joined `agora local` have neither the flag nor the frameworks).
    static func hasNoFrameworksFlag(agora: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: agora)
        process.arguments = ["local", "--help"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        let help = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: help, as: UTF8.self).contains("--no-frameworks")
    }

    /// The bytes up to the first newline; nil at EOF before one.
    private static func readFirstLine(_ handle: FileHandle) -> Data? {
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) { return buffer[..<newline] }
        }
    }
}
