import Foundation

/// A Python client from PyPI in a venv of its own, kept in the temporary directory
/// between runs: the real third-party clients judge Agora's APIs.
enum PythonVenv {
    /// The venv's python with `requirement` installed; nil, with the reason, when that
    /// is impossible on this machine (the caller prints it and skips).
    static func python(for requirement: String) -> (path: String?, reason: String) {
        let name = requirement.replacingOccurrences(of: "==", with: "-")
        let venv = FileManager.default.temporaryDirectory.appendingPathComponent("agora-venv-\(name)").path
        let python = venv + "/bin/python"
        let module = String(requirement.prefix { $0 != "=" })
        if FileManager.default.isExecutableFile(atPath: python), run(python, ["-c", "import \(module)"]).status == 0 {
            return (python, "")
        }
        let created = run("/usr/bin/env", ["python3", "-m", "venv", venv])
        guard created.status == 0 else { return (nil, "python3 -m venv failed: \(created.output)") }
        let installed = run(venv + "/bin/pip", ["install", "--quiet", "--disable-pip-version-check", requirement])
        guard installed.status == 0 else { return (nil, "pip install \(requirement) failed: \(installed.output)") }
        return (python, "")
    }

    /// Runs a program to completion; its exit status and combined output.
    static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Writes `script` next to `directory` and runs it with `arguments` off the test's thread.
    static func runScript(_ script: String, python: String, directory: String, name: String,
                          arguments: [String]) async throws -> (status: Int32, output: String) {
        let path = directory + "/" + name
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return await Task.detached { run(python, [path] + arguments) }.value
    }
}
