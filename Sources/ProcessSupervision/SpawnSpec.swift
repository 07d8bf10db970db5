/// What to run as a new process group: command, environment, directory and output files.
public struct SpawnSpec: Sendable, Hashable {
    /// An executable (absolute, relative to `workingDirectory`, or a bare name looked up
    /// in the `PATH` of `environment`), or a shell command line when `shell` is true.
    public var command: String
    /// Run `command` through `/bin/sh -c`.
    public var shell: Bool
    /// Arguments after `argv[0]` (`argv[0]` is `command`). With `shell`, they become the
    /// script's positional parameters `$1…`.
    public var arguments: [String]
    /// The complete environment of the process; nothing is inherited.
    public var environment: [String: String]
    /// Directory the process starts in; `nil` keeps the caller's.
    public var workingDirectory: String?
    /// File that receives stdout (opened append/create, mode 0644); `nil` inherits the caller's.
    public var stdoutPath: String?
    /// File that receives stderr (opened append/create, mode 0644); `nil` inherits the caller's.
    public var stderrPath: String?
    /// Cgroup directories (one per controller hierarchy) the process starts in; empty
    /// keeps the caller's. See ``CgroupEntry``.
    public var cgroups: [String]

    public init(
        command: String,
        shell: Bool = false,
        arguments: [String] = [],
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        stdoutPath: String? = nil,
        stderrPath: String? = nil,
        cgroups: [String] = []
    ) {
        self.command = command
        self.shell = shell
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        self.cgroups = cgroups
    }

    /// A shell command line run by `/bin/sh -c`.
    public static func shell(
        _ commandLine: String,
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        stdoutPath: String? = nil,
        stderrPath: String? = nil
    ) -> SpawnSpec {
        SpawnSpec(
            command: commandLine, shell: true, environment: environment,
            workingDirectory: workingDirectory, stdoutPath: stdoutPath, stderrPath: stderrPath)
    }
}

/// A process could not be started; `description` names what was wrong.
public struct SpawnError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Kind of failure, extensible without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        /// The executable does not exist or is not on `PATH`.
        public static let executableNotFound = Code(description: "executableNotFound")
        /// The executable exists but cannot be executed (permissions, format).
        public static let notExecutable = Code(description: "notExecutable")
        /// The working directory is missing, not a directory, or not searchable.
        public static let badWorkingDirectory = Code(description: "badWorkingDirectory")
        /// The stdout or stderr file could not be opened.
        public static let cannotOpenOutput = Code(description: "cannotOpenOutput")
        /// The spec holds a value that cannot be passed to a process (NUL byte, `=` in a name).
        public static let invalidSpec = Code(description: "invalidSpec")
        /// `posix_spawn` itself failed.
        public static let spawnFailed = Code(description: "spawnFailed")
        /// The process could not be placed in its cgroups.
        public static let cgroupFailed = Code(description: "cgroupFailed")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
