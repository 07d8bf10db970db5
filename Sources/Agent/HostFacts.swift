import Foundation

/// The physical capacity of a host, as read from the kernel.
public struct HostFacts: Equatable, Sendable {
    /// Online logical CPUs available to this process.
    public var cpus: Int
    /// Total physical memory in bytes.
    public var memoryBytes: UInt64
    /// Size in bytes of the filesystem that holds the agent's work directory.
    public var diskBytes: UInt64

    public init(cpus: Int, memoryBytes: UInt64, diskBytes: UInt64) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.diskBytes = diskBytes
    }

    /// Reads the CPU count (sched affinity), `MemTotal` from `/proc/meminfo` and the
    /// size of the filesystem holding `workDirectory` (which must exist).
    public static func read(workDirectory: String) throws -> HostFacts {
        var stats = statvfs()
        guard statvfs(workDirectory, &stats) == 0 else {
            throw HostFactsError(description: "cannot read the filesystem of \(workDirectory): \(String(cString: strerror(errno)))")
        }
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        guard let memory = parseMemTotal(meminfo) else {
            throw HostFactsError(description: "cannot read MemTotal from /proc/meminfo")
        }
        return HostFacts(
            cpus: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: memory,
            diskBytes: UInt64(stats.f_blocks) * UInt64(stats.f_frsize)
        )
    }

    /// `MemTotal` in bytes from `/proc/meminfo` text.
    public static func parseMemTotal(_ meminfo: String) -> UInt64? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kibibytes = UInt64(fields[1]) else { return nil }
            return kibibytes * 1_024
        }
        return nil
    }
}

/// Host capacity could not be read.
public struct HostFactsError: Error, CustomStringConvertible {
    public let description: String
}
