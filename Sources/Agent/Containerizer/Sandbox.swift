import Glibc
import ProcessSupervision

/// A container's sandbox directory, `<workDir>/frameworks/<fid>/executors/<eid>/runs/<containerID>`,
/// holding the task's `stdout` and `stderr` files.
public struct Sandbox: Sendable, Hashable {
    /// Absolute or work-dir-relative path of the sandbox directory.
    public let path: String

    /// File that receives the task's stdout.
    public var stdoutPath: String { path + "/stdout" }
    /// File that receives the task's stderr.
    public var stderrPath: String { path + "/stderr" }

    /// `PATH` given to tasks that do not set their own.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The sandbox location for these IDs, without touching the filesystem.
    ///
    /// Throws when an ID could escape its directory (see ``validateID(_:kind:)``).
    public init(workDir: String, frameworkID: String, executorID: String, containerID: String) throws(SandboxError) {
        try Sandbox.validateID(frameworkID, kind: "framework ID")
        try Sandbox.validateID(executorID, kind: "executor ID")
        try Sandbox.validateID(containerID, kind: "container ID")
        let base = workDir.count > 1 && workDir.hasSuffix("/") ? String(workDir.dropLast()) : workDir
        path = "\(base)/frameworks/\(frameworkID)/executors/\(executorID)/runs/\(containerID)"
    }

    /// Creates the sandbox directory (mode 0755, parents as needed) and empty `stdout` and
    /// `stderr` files (mode 0644); existing ones are kept.
    public static func create(
        workDir: String, frameworkID: String, executorID: String, containerID: String
    ) throws(SandboxError) -> Sandbox {
        let sandbox = try Sandbox(workDir: workDir, frameworkID: frameworkID, executorID: executorID, containerID: containerID)
        try makeDirectories(sandbox.path)
        for file in [sandbox.stdoutPath, sandbox.stderrPath] {
            let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw SandboxError("cannot create \(file): \(GlibcExtensions.errorText(errno))")
            }
            close(fd)
        }
        return sandbox
    }

    /// Checks that an ID can be one path component: not empty, not `.` or `..`, and
    /// without `/` or NUL.
    public static func validateID(_ id: String, kind: String) throws(SandboxError) {
        let bytes = id.utf8
        if bytes.isEmpty { throw SandboxError("\(kind) is empty") }
        if id == "." || id == ".." { throw SandboxError("\(kind) \(id.debugDescription) is not allowed") }
        for byte in bytes {
            if byte == UInt8(ascii: "/") { throw SandboxError("\(kind) \(id.debugDescription) contains '/'") }
            if byte == 0 { throw SandboxError("\(kind) \(id.debugDescription) contains a NUL byte") }
        }
    }

    /// The task environment: `MESOS_SANDBOX`, `AGORA_SANDBOX`, `AGORA_TASK_ID`,
    /// `AGORA_FRAMEWORK_ID`, `AGORA_AGENT_ID`, `HOST`, `PORT0`…`PORTn-1` and `PORTS`
    /// (comma-separated, only when there are ports), a default `PATH`, and then `user`
    /// on top, so the task's own variables win.
    public static func environment(
        sandbox: String,
        taskID: String,
        frameworkID: String,
        agentID: String,
        hostname: String = Sandbox.hostname(),
        ports: [UInt64] = [],
        user: [String: String] = [:]
    ) -> [String: String] {
        var environment: [String: String] = [
            "MESOS_SANDBOX": sandbox,
            "AGORA_SANDBOX": sandbox,
            "AGORA_TASK_ID": taskID,
            "AGORA_FRAMEWORK_ID": frameworkID,
            "AGORA_AGENT_ID": agentID,
            "HOST": hostname,
            "PATH": defaultPath,
        ]
        for (index, port) in ports.enumerated() {
            environment["PORT\(index)"] = String(port)
        }
        if !ports.isEmpty {
            environment["PORTS"] = ports.map(String.init).joined(separator: ",")
        }
        environment.merge(user) { _, task in task }
        return environment
    }

    /// This host's name (`gethostname`), or `localhost` when it cannot be read.
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Creates `path` and its missing parents. The parents of a new sandbox usually exist
    /// (the executor's `runs` directory), so this tries `path` first and walks up only
    /// as far as `mkdir` says a parent is missing.
    private static func makeDirectories(_ path: String) throws(SandboxError) {
        if mkdir(path, 0o755) == 0 { return }
        switch errno {
        case EEXIST:
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw SandboxError("cannot create sandbox \(path): it exists and is not a directory")
            }
        case ENOENT:
            guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex else {
                throw SandboxError("cannot create sandbox \(path): mkdir: \(GlibcExtensions.errorText(ENOENT))")
            }
            try makeDirectories(String(path[..<slash]))
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                throw SandboxError("cannot create sandbox \(path): mkdir: \(GlibcExtensions.errorText(errno))")
            }
        default:
            throw SandboxError("cannot create sandbox \(path): mkdir: \(GlibcExtensions.errorText(errno))")
        }
    }
}

/// A sandbox could not be named or created; `description` says why.
public struct SandboxError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
