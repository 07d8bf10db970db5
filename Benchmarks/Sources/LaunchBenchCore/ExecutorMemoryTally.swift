/// The largest resident set seen for each executor process while tasks ran.
public struct ExecutorMemoryTally: Sendable {
    private var peakKilobytes: [Int32: Int] = [:]
    /// How many /proc samples were taken.
    public private(set) var samples = 0

    public init() {}

    /// One executor's resident set in one sample.
    public mutating func record(pid: Int32, kilobytes: Int) {
        peakKilobytes[pid] = max(peakKilobytes[pid] ?? 0, kilobytes)
    }

    /// Marks the end of one pass over /proc.
    public mutating func finishSample() {
        samples += 1
    }

    /// How many executor processes were seen.
    public var executors: Int { peakKilobytes.count }

    /// The median over executors of each one's peak resident set (kB); nil if none was seen.
    public var medianPeakKilobytes: Double? {
        Statistics.median(peakKilobytes.values.map(Double.init))
    }
}

/// Reading the parts of `/proc/PID/…` the benchmark needs, from their text.
public enum ProcFiles {
    /// `VmRSS` from `/proc/PID/status`, in kB; nil when absent (a kernel thread, a zombie).
    public static func residentKilobytes(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let value = fields.first, let kilobytes = Int(value), fields.dropFirst().first == "kB" else { return nil }
            return kilobytes
        }
        return nil
    }

    /// The parent's ID (field 4) from `/proc/PID/stat`; nil when the text is not one.
    public static func parentPID(stat: String) -> Int32? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// The arguments in `/proc/PID/cmdline` (NUL-separated, NUL-terminated).
    public static func arguments(cmdline: [UInt8]) -> [String] {
        var bytes = cmdline[...]
        if bytes.last == 0 { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The CPU times in `/proc/PID/stat`, in clock ticks; nil when the text is not one.
    public static func cpuTicks(stat: String) -> ProcessCPUTicks? {
        // The command name (field 2) is in parentheses and may hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14 to 17.
        guard fields.count > 14, let user = Int(fields[11]), let system = Int(fields[12]),
              let childrenUser = Int(fields[13]), let childrenSystem = Int(fields[14]) else { return nil }
        return ProcessCPUTicks(user: user, system: system, childrenUser: childrenUser, childrenSystem: childrenSystem)
    }

    /// `master` or `agent` when `arguments` are an `agora master`/`agora agent` whose
    /// arguments name a path inside `workDirectory`; nil otherwise.
    public static func clusterRole(_ arguments: [String], workDirectory: String) -> String? {
        guard arguments.count >= 2, arguments[0].split(separator: "/").last == "agora",
              ["master", "agent"].contains(arguments[1]),
              arguments.dropFirst(2).contains(where: { $0.hasPrefix(workDirectory) }) else { return nil }
        return arguments[1]
    }

    /// Whether `arguments` are those of a built-in executor process: a program named
    /// `agora-executor` (any directory).
    public static func isAgoraExecutor(_ arguments: [String]) -> Bool {
        guard let program = arguments.first else { return false }
        return program.split(separator: "/").last == "agora-executor"
    }
}

/// A process's CPU time from `/proc/PID/stat`, in clock ticks. `children…` counts the
/// children it has reaped (for an agent: its executors and, through them, their tasks).
public struct ProcessCPUTicks: Equatable, Sendable {
    public var user: Int
    public var system: Int
    public var childrenUser: Int
    public var childrenSystem: Int

    public init(user: Int, system: Int, childrenUser: Int, childrenSystem: Int) {
        self.user = user
        self.system = system
        self.childrenUser = childrenUser
        self.childrenSystem = childrenSystem
    }

    public var own: Int { user + system }
    public var children: Int { childrenUser + childrenSystem }
}
