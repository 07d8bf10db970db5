import Foundation
import LaunchBenchCore

/// Reads `/proc` with plain system calls; the parsing is in `ProcFiles`.
enum ProcReader {
    /// The IDs of every process now in `/proc`.
    static func pids() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }

    /// The whole file, or nothing when it cannot be read (the process is gone).
    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return bytes }
            bytes.append(contentsOf: buffer[..<count])
        }
    }

    static func arguments(of pid: Int32) -> [String] {
        ProcFiles.arguments(cmdline: read("/proc/\(pid)/cmdline"))
    }

    /// CPU seconds used so far by the cluster in `workDirectory`: the master's, the
    /// agents', and their executors' with their tasks: the agents' reaped children's
    /// plus, for executors still running (a framework's shared command executor lives
    /// on while idle), their own time and their reaped tasks'.
    static func clusterCPUSeconds(workDirectory: String) -> (master: Double, agents: Double, executors: Double) {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var master = 0, agents = 0, executors = 0
        var agentPIDs: Set<Int32> = []
        // One read of each process; executors are told apart by their parent, an agent.
        var candidates: [(parent: Int32, ticks: ProcessCPUTicks)] = []
        for pid in pids() {
            let arguments = arguments(of: pid)
            let stat = String(decoding: read("/proc/\(pid)/stat"), as: UTF8.self)
            guard let ticks = ProcFiles.cpuTicks(stat: stat) else { continue }
            switch ProcFiles.clusterRole(arguments, workDirectory: workDirectory) {
            case "master"?:
                master += ticks.own
            case _?:
                agentPIDs.insert(pid)
                agents += ticks.own
                executors += ticks.children
            case nil:
                if ProcFiles.isAgoraExecutor(arguments), let parent = ProcFiles.parentPID(stat: stat) {
                    candidates.append((parent, ticks))
                }
            }
        }
        for candidate in candidates where agentPIDs.contains(candidate.parent) {
            executors += candidate.ticks.own + candidate.ticks.children
        }
        return (Double(master) / ticksPerSecond, Double(agents) / ticksPerSecond, Double(executors) / ticksPerSecond)
    }
}
