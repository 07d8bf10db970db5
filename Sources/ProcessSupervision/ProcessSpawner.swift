import Glibc

/// Starts processes with `posix_spawn`, each in a new process group.
///
/// The child gets exactly the spec's environment, stdin from `/dev/null`, default signal
/// dispositions, an empty signal mask and no file descriptors above 2. Use
/// ``ChildProcessMonitor/spawn(_:)`` to start a process whose exit you will await.
public enum ProcessSpawner {
    /// `PATH` used to find a bare executable name when the spec's environment has none.
    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Starts `spec` and returns the child's pid, which is also its process group id.
    ///
    /// The caller must reap the child (``ChildProcessMonitor`` does).
    public static func spawn(_ spec: SpawnSpec) throws(SpawnError) -> pid_t {
        try validate(spec)
        if let directory = spec.workingDirectory {
            try checkWorkingDirectory(directory)
        }
        let executable: String
        let argv: [String]
        if spec.shell {
            executable = "/bin/sh"
            argv = ["/bin/sh", "-c", spec.command] + (spec.arguments.isEmpty ? [] : ["sh"] + spec.arguments)
        } else {
            executable = try resolveExecutable(spec)
            argv = [spec.command] + spec.arguments
        }
        let environment = spec.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }

        var stdoutFD: Int32 = -1
        var stderrFD: Int32 = -1
        defer {
            if stdoutFD >= 0 { close(stdoutFD) }
            if stderrFD >= 0 { close(stderrFD) }
        }
        if let path = spec.stdoutPath { stdoutFD = try openOutput(path, stream: "stdout", spec: spec) }
        if let path = spec.stderrPath { stderrFD = try openOutput(path, stream: "stderr", spec: spec) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if stdoutFD >= 0 { posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1) }
        if stderrFD >= 0 { posix_spawn_file_actions_adddup2(&actions, stderrFD, 2) }
        if let directory = spec.workingDirectory {
            guard let addChdir = GlibcExtensions.addChdir else {
                throw SpawnError(.badWorkingDirectory, "cannot set working directory \(directory): this C library lacks posix_spawn_file_actions_addchdir_np (glibc 2.29 or later needed)")
            }
            let rc = addChdir(&actions, directory)
            guard rc == 0 else {
                throw SpawnError(.spawnFailed, "cannot prepare working directory \(directory): \(GlibcExtensions.errorText(rc))")
            }
        }
        if let closeFrom = GlibcExtensions.addCloseFrom {
            _ = closeFrom(&actions, 3)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let start = { () throws(SpawnError) -> pid_t in
            var pid: pid_t = 0
            let rc = withCStringArray(argv) { argvPointer in
                withCStringArray(environment) { envPointer in
                    posix_spawn(&pid, executable, &actions, &attributes, argvPointer, envPointer)
                }
            }
            guard rc == 0 else {
                throw spawnFailure(rc, executable: executable, spec: spec)
            }
            return pid
        }
        return spec.cgroups.isEmpty ? try start() : try CgroupEntry.spawn(into: spec.cgroups, start)
    }

    // MARK: - Checks before spawning

    private static func validate(_ spec: SpawnSpec) throws(SpawnError) {
        guard !spec.command.isEmpty else {
            throw SpawnError(.invalidSpec, "the command is empty")
        }
        for value in [spec.command] + spec.arguments where value.utf8.contains(0) {
            throw SpawnError(.invalidSpec, "argument \(value.debugDescription) contains a NUL byte")
        }
        for (name, value) in spec.environment {
            if name.isEmpty || name.contains("=") || name.utf8.contains(0) {
                throw SpawnError(.invalidSpec, "environment variable name \(name.debugDescription) is empty or contains '=' or NUL")
            }
            if value.utf8.contains(0) {
                throw SpawnError(.invalidSpec, "environment variable \(name) contains a NUL byte")
            }
        }
    }

    private static func checkWorkingDirectory(_ directory: String) throws(SpawnError) {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw SpawnError(.badWorkingDirectory, "working directory \(directory) is not usable: \(GlibcExtensions.errorText(errno))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw SpawnError(.badWorkingDirectory, "working directory \(directory) is not a directory")
        }
        guard access(directory, X_OK) == 0 else {
            throw SpawnError(.badWorkingDirectory, "working directory \(directory) cannot be entered: \(GlibcExtensions.errorText(errno))")
        }
    }

    /// An absolute path for the spec's executable, checked to exist and be executable.
    private static func resolveExecutable(_ spec: SpawnSpec) throws(SpawnError) -> String {
        let command = spec.command
        if command.contains("/") {
            var path = command
            if !command.hasPrefix("/"), let directory = spec.workingDirectory {
                path = directory + "/" + command
            }
            try checkExecutable(path, named: command)
            return path
        }
        let searchPath = spec.environment["PATH"] ?? defaultSearchPath
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let base = directory.isEmpty ? "." : String(directory)
            let candidate = base + "/" + command
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                if candidate.hasPrefix("/") || spec.workingDirectory == nil { return candidate }
                return spec.workingDirectory! + "/" + candidate
            }
        }
        throw SpawnError(.executableNotFound, "executable \(command) not found in PATH \(searchPath)")
    }

    private static func checkExecutable(_ path: String, named command: String) throws(SpawnError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SpawnError(.executableNotFound, "executable \(command) not found at \(path): \(GlibcExtensions.errorText(errno))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SpawnError(.notExecutable, "executable \(command) at \(path) is not a regular file")
        }
        guard access(path, X_OK) == 0 else {
            throw SpawnError(.notExecutable, "executable \(command) at \(path) is not executable: \(GlibcExtensions.errorText(errno))")
        }
    }

    private static func openOutput(_ path: String, stream: String, spec: SpawnSpec) throws(SpawnError) -> Int32 {
        var fullPath = path
        if !path.hasPrefix("/"), let directory = spec.workingDirectory {
            fullPath = directory + "/" + path
        }
        let fd = open(fullPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SpawnError(.cannotOpenOutput, "cannot open \(stream) file \(fullPath): \(GlibcExtensions.errorText(errno))")
        }
        return fd
    }

    private static func spawnFailure(_ rc: Int32, executable: String, spec: SpawnSpec) -> SpawnError {
        switch rc {
        case ENOENT where spec.workingDirectory != nil:
            return SpawnError(.spawnFailed, "cannot start \(executable) in \(spec.workingDirectory!): the executable or the working directory vanished (\(GlibcExtensions.errorText(rc)))")
        case ENOENT:
            return SpawnError(.executableNotFound, "executable \(executable) not found")
        case EACCES, ENOEXEC, ETXTBSY:
            return SpawnError(.notExecutable, "cannot execute \(executable): \(GlibcExtensions.errorText(rc))")
        default:
            return SpawnError(.spawnFailed, "cannot start \(executable): \(GlibcExtensions.errorText(rc))")
        }
    }
}

/// Runs `body` with a NULL-terminated C array of copies of `strings`.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// glibc functions that Swift's `Glibc` module hides behind `_GNU_SOURCE`, found at run time.
package enum GlibcExtensions {
    /// `strerror` text for an errno value.
    package static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    typealias FileActionsPath = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias FileActionsFD = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29+).
    static let addChdir: FileActionsPath? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map {
        unsafeBitCast($0, to: FileActionsPath.self)
    }
    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+).
    static let addCloseFrom: FileActionsFD? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: FileActionsFD.self)
    }
}
