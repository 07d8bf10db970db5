import Glibc
import ProcessSupervision

/// Puts a container's processes in a cgroup that limits cpu and memory.
///
/// One cgroup per container, named by its container ID below a root (`agora`).
/// Obtain one with ``makeIsolator(layout:root:)``, which picks v1 or v2 by detection.
public protocol CgroupIsolator: Sendable {
    /// The cgroup version this isolator drives.
    var version: CgroupLayout.Version { get }

    /// Creates (or updates) the container's cgroup: cpu shares `cpus × 1024`, a CFS quota
    /// of `cpus × 100 ms` per 100 ms when `cfsQuota`, and a memory limit of `memoryMB` MiB
    /// without swap. Idempotent.
    func create(containerID: String, cpus: Double, memoryMB: Double, cfsQuota: Bool) throws(CgroupError)

    /// Moves process `pid` (all its threads) into the container's cgroup. Children it
    /// starts afterwards are inside too; those it started before are not, so add a
    /// process before it forks (the agent adds the executor before it starts tasks).
    func add(pid: pid_t, containerID: String) throws(CgroupError)

    /// The container's cgroup directories, one per hierarchy, in which another process
    /// may start a process (see `SpawnSpec.cgroups`).
    func directories(containerID: String) -> [String]

    /// Whether the kernel OOM-killed a process in the container because of its memory
    /// limit. Read it before ``destroy(containerID:)``.
    func memoryLimitReached(containerID: String) -> Bool

    /// Current memory use and cpu time of the container.
    func usage(containerID: String) throws(CgroupError) -> CgroupUsage

    /// SIGKILLs every process in the container's cgroup, waits (bounded) until it is
    /// empty and removes it. Succeeds when the cgroup does not exist.
    func destroy(containerID: String) async throws(CgroupError)
}

/// Resource use of one container, as its cgroup reports it.
public struct CgroupUsage: Sendable, Hashable {
    /// Memory charged to the container now, in bytes (includes page cache).
    public var memoryBytes: UInt64
    /// Highest memory charge seen, in bytes, when the kernel reports it.
    public var memoryPeakBytes: UInt64?
    /// Total cpu time (user + system) of the container's processes, when available.
    public var cpuTime: Duration?

    public init(memoryBytes: UInt64, memoryPeakBytes: UInt64? = nil, cpuTime: Duration? = nil) {
        self.memoryBytes = memoryBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.cpuTime = cpuTime
    }
}

/// A cgroup operation failed, or cgroups cannot be used here; `description` says why.
public struct CgroupError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Kind of failure, extensible without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        /// Isolation cannot work on this host (not root, no controllers, read-only).
        public static let unavailable = Code(description: "unavailable")
        /// A container ID or limit was rejected before touching the kernel.
        public static let invalidArgument = Code(description: "invalidArgument")
        /// Reading or writing a cgroup file or directory failed.
        public static let io = Code(description: "io")
        /// Processes were still alive in the cgroup after the kill retries.
        public static let notEmpty = Code(description: "notEmpty")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// The isolator for this host's cgroup layout, or `nil` when cgroups cannot be used
/// (see ``selectIsolator(layout:root:)`` for the reason).
public func makeIsolator(layout: CgroupLayout, root: String = "agora") -> (any CgroupIsolator)? {
    try? selectIsolator(layout: layout, root: root).get()
}

/// The isolator for this host's cgroup layout (v2 when it carries cpu and memory, else
/// v1), or the reason, fit for a log line, why cgroups cannot be used: not root, no
/// hierarchy with both controllers, or the `root` cgroup cannot be created.
public func selectIsolator(layout: CgroupLayout, root: String = "agora") -> Result<any CgroupIsolator, CgroupError> {
    guard geteuid() == 0 else {
        return .failure(CgroupError(.unavailable, "cgroup isolation needs root; running as uid \(geteuid())"))
    }
    do throws(CgroupError) {
        switch layout.enforcingVersion {
        case .v2:
            return .success(try CgroupV2Isolator(layout: layout, root: root))
        case .v1:
            return .success(try CgroupV1Isolator(layout: layout, root: root))
        case nil:
            let v1 = layout.v1Mounts.keys.sorted().joined(separator: ",")
            let v2 = layout.v2Mount.map { "\($0) with controllers [\(layout.v2Controllers.sorted().joined(separator: ","))]" } ?? "none"
            return .failure(CgroupError(
                .unavailable,
                "no cgroup hierarchy has both cpu and memory controllers (v1 controllers: [\(v1)]; v2: \(v2))"))
        }
    } catch {
        return .failure(error)
    }
}

// MARK: - Shared helpers

/// File and directory operations on cgroupfs, with errors that name the path.
enum CgroupFiles {
    /// Writes `value` the way `echo value > path` does (cgroupfs files already exist).
    static func write(_ value: String, to path: String) throws(CgroupError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CgroupError(.io, "cannot open \(path): \(GlibcExtensions.errorText(errno))")
        }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw CgroupError(.io, "cannot write \(value.debugDescription) to \(path): \(GlibcExtensions.errorText(errno))")
        }
    }

    /// The file's text, or `nil` when it cannot be read.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            data += buffer[0..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The first integer in the file (`memory.usage_in_bytes`, `memory.current`).
    static func readInteger(_ path: String) -> UInt64? {
        read(path).flatMap { text in text.split(whereSeparator: \.isWhitespace).first.flatMap { UInt64($0) } }
    }

    /// The value of `key` in a flat keyed file (`oom_kill 3`, `usage_usec 1234`).
    static func readKey(_ key: String, in path: String) -> UInt64? {
        guard let text = read(path) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == key { return UInt64(fields[1]) }
        }
        return nil
    }

    /// Process ids listed in `cgroup.procs` of `directory`; empty when unreadable.
    static func processes(in directory: String) -> [pid_t] {
        (read(directory + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Creates `path` and missing parents; an existing directory is fine.
    static func makeDirectory(_ path: String) throws(CgroupError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw CgroupError(.io, "cannot create cgroup \(current): \(GlibcExtensions.errorText(errno))")
            }
        }
    }

    /// Creates the directory `path` whose parent normally exists (a container's cgroup
    /// below the root the isolator made at start): one `mkdir`, walking down from `/`
    /// only when the parent has gone. An existing directory is fine; returns whether
    /// the directory is new (a new cgroup starts with the kernel's default settings).
    @discardableResult
    static func makeChildDirectory(_ path: String) throws(CgroupError) -> Bool {
        guard mkdir(path, 0o755) != 0 else { return true }
        switch errno {
        case EEXIST: return false
        case ENOENT:
            try makeDirectory(path)
            return true
        default: throw CgroupError(.io, "cannot create cgroup \(path): \(GlibcExtensions.errorText(errno))")
        }
    }

    /// Removes those of `directories` that are empty or already gone; returns the others
    /// (busy, or not removable for another reason), for ``killAndRemove(_:containerID:)``.
    static func removeEmpty(_ directories: [String]) -> [String] {
        directories.filter { rmdir($0) != 0 && errno != ENOENT }
    }

    /// SIGKILLs the processes in `directories` until all are empty (about 5 s at most),
    /// then removes the directories, deepest first as given.
    static func killAndRemove(_ directories: [String], containerID: String) async throws(CgroupError) {
        let present = directories.filter(exists)
        var attempt = 0
        while true {
            let remaining = present.flatMap(processes(in:))
            if remaining.isEmpty { break }
            attempt += 1
            if attempt > 100 {
                throw CgroupError(.notEmpty, "container \(containerID): processes \(remaining) survived SIGKILL for 5 s")
            }
            for pid in remaining { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(attempt < 10 ? 10 : 50))
        }
        for directory in present {
            var tries = 0
            while rmdir(directory) != 0 {
                if errno == ENOENT { break }
                tries += 1
                guard errno == EBUSY, tries < 50 else {
                    throw CgroupError(.io, "cannot remove cgroup \(directory): \(GlibcExtensions.errorText(errno))")
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Rejects container IDs that are not a single path component.
    static func validate(containerID: String) throws(CgroupError) {
        do {
            try Sandbox.validateID(containerID, kind: "container ID")
        } catch {
            throw CgroupError(.invalidArgument, error.description)
        }
    }

    /// Rejects a root that is empty, absolute or climbs out of the hierarchy.
    static func validate(root: String) throws(CgroupError) {
        let components = root.split(separator: "/", omittingEmptySubsequences: false)
        guard !root.isEmpty, !root.hasPrefix("/"), !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw CgroupError(.invalidArgument, "cgroup root \(root.debugDescription) must be a relative path like \"agora\"")
        }
    }

    /// Rejects limits that are not positive and finite.
    static func validate(cpus: Double, memoryMB: Double) throws(CgroupError) {
        guard cpus.isFinite, cpus > 0, memoryMB.isFinite, memoryMB > 0 else {
            throw CgroupError(.invalidArgument, "cpus (\(cpus)) and memory (\(memoryMB) MB) must be positive")
        }
    }

    /// cpu.shares for a cpu amount: `cpus × 1024`, at least 2.
    static func shares(cpus: Double) -> UInt64 {
        max(2, UInt64((cpus * 1_024).rounded()))
    }

    /// CFS period in microseconds (100 ms).
    static let cfsPeriod: UInt64 = 100_000

    /// CFS quota in microseconds for a cpu amount, at least 1 ms.
    static func cfsQuota(cpus: Double) -> UInt64 {
        max(1_000, UInt64((cpus * Double(cfsPeriod)).rounded()))
    }

    /// Memory limit in bytes for an amount in MiB.
    static func memoryBytes(megabytes: Double) -> UInt64 {
        UInt64((megabytes * 1_048_576).rounded())
    }
}
