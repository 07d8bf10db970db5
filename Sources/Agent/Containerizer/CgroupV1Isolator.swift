import Glibc

/// Cgroup v1 isolation: one directory per controller hierarchy,
/// `/sys/fs/cgroup/<controller>/<root>/<containerID>`.
///
/// Uses `cpu` and `memory` (required), and `cpuacct` (cpu time), `pids` and `freezer`
/// (freezing makes destruction race-free against forking) when mounted.
public struct CgroupV1Isolator: CgroupIsolator {
    public var version: CgroupLayout.Version { .v1 }

    /// Path of the container parent below each hierarchy (`agora`).
    public let root: String
    let cpuMount: String
    let memoryMount: String
    let cpuacctMount: String?
    let pidsMount: String?
    let freezerMount: String?
    /// Whether the kernel has CFS bandwidth control (`cpu.cfs_quota_us`).
    let hasCFSQuota: Bool
    /// Whether the kernel accounts swap (`memory.memsw.limit_in_bytes`).
    let hasMemsw: Bool

    /// Checks that the cpu and memory hierarchies exist and creates `<mount>/<root>` in
    /// every hierarchy used; throws when that is impossible (read-only, not root).
    public init(layout: CgroupLayout, root: String = "agora") throws(CgroupError) {
        try CgroupFiles.validate(root: root)
        guard let cpu = layout.v1Mounts["cpu"], let memory = layout.v1Mounts["memory"] else {
            throw CgroupError(.unavailable, "cgroup v1 cpu and memory controllers are not both mounted")
        }
        self.root = root
        cpuMount = cpu
        memoryMount = memory
        cpuacctMount = layout.v1Mounts["cpuacct"]
        pidsMount = layout.v1Mounts["pids"]
        freezerMount = layout.v1Mounts["freezer"]
        hasCFSQuota = CgroupFiles.exists("\(cpu)/cpu.cfs_quota_us")
        hasMemsw = CgroupFiles.exists("\(memory)/memory.memsw.limit_in_bytes")
        var distinct: [String] = []
        for mount in [cpu, memory, cpuacctMount, pidsMount, freezerMount].compactMap({ $0 }) where !distinct.contains(mount) {
            distinct.append(mount)
        }
        mounts = distinct
        for mount in mounts {
            do {
                try CgroupFiles.makeDirectory("\(mount)/\(root)")
            } catch {
                throw CgroupError(.unavailable, "cgroup v1 hierarchy \(mount) is not usable: \(error.description)")
            }
        }
    }

    /// Distinct mount points in use (`cpu` and `cpuacct` are often mounted together).
    let mounts: [String]

    func directory(_ mount: String, _ containerID: String) -> String {
        "\(mount)/\(root)/\(containerID)"
    }

    public func directories(containerID: String) -> [String] {
        mounts.map { directory($0, containerID) }
    }

    public func create(containerID: String, cpus: Double, memoryMB: Double, cfsQuota: Bool) throws(CgroupError) {
        try CgroupFiles.validate(containerID: containerID)
        try CgroupFiles.validate(cpus: cpus, memoryMB: memoryMB)
        var isNew = true
        for mount in mounts {
            if try !CgroupFiles.makeChildDirectory(directory(mount, containerID)) { isNew = false }
        }
        let cpu = directory(cpuMount, containerID)
        try CgroupFiles.write(String(CgroupFiles.shares(cpus: cpus)), to: cpu + "/cpu.shares")
        if cfsQuota {
            try CgroupFiles.write(String(CgroupFiles.cfsPeriod), to: cpu + "/cpu.cfs_period_us")
            try CgroupFiles.write(String(CgroupFiles.cfsQuota(cpus: cpus)), to: cpu + "/cpu.cfs_quota_us")
        } else if hasCFSQuota, !isNew {
            // A new cgroup has no quota (-1); an existing one may have had one.
            try CgroupFiles.write("-1", to: cpu + "/cpu.cfs_quota_us")
        }

        let memory = directory(memoryMount, containerID)
        let limit = String(CgroupFiles.memoryBytes(megabytes: memoryMB))
        // memory+swap must stay ≥ memory: raise it first when growing (a new cgroup has
        // no limits, so there is nothing to raise), set it last when shrinking.
        let memsw = memory + "/memory.memsw.limit_in_bytes"
        if hasMemsw, !isNew { try? CgroupFiles.write(limit, to: memsw) }
        try CgroupFiles.write(limit, to: memory + "/memory.limit_in_bytes")
        if hasMemsw { try CgroupFiles.write(limit, to: memsw) }
    }

    public func add(pid: pid_t, containerID: String) throws(CgroupError) {
        try CgroupFiles.validate(containerID: containerID)
        for mount in mounts {
            try CgroupFiles.write(String(pid), to: directory(mount, containerID) + "/cgroup.procs")
        }
    }

    /// True when `memory.oom_control` counts an OOM kill; on kernels before 4.13, which
    /// lack that counter, when the limit was hit (`memory.failcnt` > 0) and the peak
    /// reached the limit — which can also mean page cache was merely reclaimed.
    public func memoryLimitReached(containerID: String) -> Bool {
        let memory = directory(memoryMount, containerID)
        if let kills = CgroupFiles.readKey("oom_kill", in: memory + "/memory.oom_control") {
            return kills > 0
        }
        guard let failures = CgroupFiles.readInteger(memory + "/memory.failcnt"),
              let peak = CgroupFiles.readInteger(memory + "/memory.max_usage_in_bytes"),
              let limit = CgroupFiles.readInteger(memory + "/memory.limit_in_bytes")
        else { return false }
        return failures > 0 && peak >= limit
    }

    public func usage(containerID: String) throws(CgroupError) -> CgroupUsage {
        try CgroupFiles.validate(containerID: containerID)
        let memory = directory(memoryMount, containerID)
        guard let bytes = CgroupFiles.readInteger(memory + "/memory.usage_in_bytes") else {
            throw CgroupError(.io, "cannot read \(memory)/memory.usage_in_bytes")
        }
        let cpuTime = cpuacctMount
            .flatMap { CgroupFiles.readInteger(directory($0, containerID) + "/cpuacct.usage") }
            .map { Duration.nanoseconds(Int64(clamping: $0)) }
        return CgroupUsage(
            memoryBytes: bytes,
            memoryPeakBytes: CgroupFiles.readInteger(memory + "/memory.max_usage_in_bytes"),
            cpuTime: cpuTime)
    }

    public func destroy(containerID: String) async throws(CgroupError) {
        try CgroupFiles.validate(containerID: containerID)
        // A task container whose task has ended is empty, and goes with one rmdir per hierarchy.
        let busy = CgroupFiles.removeEmpty(mounts.map { directory($0, containerID) })
        guard !busy.isEmpty else { return }
        if let freezerMount, busy.contains(directory(freezerMount, containerID)) {
            await killFrozen(directory(freezerMount, containerID))
        }
        try await CgroupFiles.killAndRemove(busy, containerID: containerID)
    }

    /// Freezes the cgroup so nothing can fork, SIGKILLs everything, and thaws it so the
    /// kills are delivered. Best effort: the kill loop afterwards catches the rest.
    /// An empty cgroup is left alone: freezing and thawing flip a kernel static key,
    /// which interrupts every CPU.
    private func killFrozen(_ freezer: String) async {
        guard CgroupFiles.exists(freezer), !CgroupFiles.processes(in: freezer).isEmpty else { return }
        guard (try? CgroupFiles.write("FROZEN", to: freezer + "/freezer.state")) != nil else { return }
        for _ in 0..<50 {
            if CgroupFiles.read(freezer + "/freezer.state")?.hasPrefix("FROZEN") == true { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        for pid in CgroupFiles.processes(in: freezer) { kill(pid, SIGKILL) }
        try? CgroupFiles.write("THAWED", to: freezer + "/freezer.state")
    }
}
