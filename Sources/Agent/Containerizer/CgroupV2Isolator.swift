import Glibc

/// Cgroup v2 isolation: one directory in the unified hierarchy,
/// `<mount>/<root>/<containerID>`, with the `cpu` and `memory` controllers enabled for it.
public struct CgroupV2Isolator: CgroupIsolator {
    public var version: CgroupLayout.Version { .v2 }

    /// Path of the container parent below the mount point (`agora`).
    public let root: String
    /// Mount point of the unified hierarchy (`/sys/fs/cgroup`).
    public let mountPoint: String

    /// Creates `<mount>/<root>` and enables the cpu and memory controllers (and pids when
    /// available) for its children; throws when that is impossible.
    public init(layout: CgroupLayout, root: String = "agora") throws(CgroupError) {
        guard let mount = layout.v2Mount else {
            throw CgroupError(.unavailable, "no cgroup v2 hierarchy is mounted")
        }
        try self.init(mountPoint: mount, root: root)
    }

    init(mountPoint: String, root: String) throws(CgroupError) {
        try CgroupFiles.validate(root: root)
        self.mountPoint = mountPoint
        self.root = root
        do {
            // Each level from the mount point down must pass the controllers on.
            var parent = mountPoint
            for component in root.split(separator: "/") {
                try enableControllers(in: parent)
                parent += "/" + component
                try CgroupFiles.makeDirectory(parent)
            }
            try enableControllers(in: parent)
        } catch {
            throw CgroupError(.unavailable, "cgroup v2 hierarchy \(mountPoint) is not usable: \(error.description)")
        }
    }

    /// Enables cpu, memory (and pids when offered) for the children of `directory`.
    private func enableControllers(in directory: String) throws(CgroupError) {
        let offered = CgroupFiles.read(directory + "/cgroup.controllers").map {
            Set($0.split(whereSeparator: \.isWhitespace).map(String.init))
        }
        var wanted = ["cpu", "memory"]
        if offered?.contains("pids") == true { wanted.append("pids") }
        let enabled = Set((CgroupFiles.read(directory + "/cgroup.subtree_control") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        let missing = wanted.filter { !enabled.contains($0) }
        guard !missing.isEmpty else { return }
        try CgroupFiles.write(missing.map { "+" + $0 }.joined(separator: " "), to: directory + "/cgroup.subtree_control")
    }

    func directory(_ containerID: String) -> String {
        "\(mountPoint)/\(root)/\(containerID)"
    }

    public func directories(containerID: String) -> [String] {
        [directory(containerID)]
    }

    /// `cpu.weight` (1…10000) for v1-style shares, as Kubernetes and systemd convert them.
    static func weight(shares: UInt64) -> UInt64 {
        let clamped = min(max(shares, 2), 262_144)
        return 1 + ((clamped - 2) * 9_999) / 262_142
    }

    public func create(containerID: String, cpus: Double, memoryMB: Double, cfsQuota: Bool) throws(CgroupError) {
        try CgroupFiles.validate(containerID: containerID)
        try CgroupFiles.validate(cpus: cpus, memoryMB: memoryMB)
        let cgroup = directory(containerID)
        try CgroupFiles.makeChildDirectory(cgroup)
        let weight = Self.weight(shares: CgroupFiles.shares(cpus: cpus))
        try CgroupFiles.write(String(weight), to: cgroup + "/cpu.weight")
        let quota = cfsQuota ? String(CgroupFiles.cfsQuota(cpus: cpus)) : "max"
        try CgroupFiles.write("\(quota) \(CgroupFiles.cfsPeriod)", to: cgroup + "/cpu.max")
        try CgroupFiles.write(String(CgroupFiles.memoryBytes(megabytes: memoryMB)), to: cgroup + "/memory.max")
        if CgroupFiles.exists(cgroup + "/memory.swap.max") {
            try CgroupFiles.write("0", to: cgroup + "/memory.swap.max")
        }
        // An OOM kill takes the whole container down, not one process of it.
        if CgroupFiles.exists(cgroup + "/memory.oom.group") {
            try CgroupFiles.write("1", to: cgroup + "/memory.oom.group")
        }
    }

    public func add(pid: pid_t, containerID: String) throws(CgroupError) {
        try CgroupFiles.validate(containerID: containerID)
        try CgroupFiles.write(String(pid), to: directory(containerID) + "/cgroup.procs")
    }

    /// True when `memory.events` counts an OOM kill (`oom_kill` > 0).
    public func memoryLimitReached(containerID: String) -> Bool {
        (CgroupFiles.readKey("oom_kill", in: directory(containerID) + "/memory.events") ?? 0) > 0
    }

    public func usage(containerID: String) throws(CgroupError) -> CgroupUsage {
        try CgroupFiles.validate(containerID: containerID)
        let cgroup = directory(containerID)
        guard let bytes = CgroupFiles.readInteger(cgroup + "/memory.current") else {
            throw CgroupError(.io, "cannot read \(cgroup)/memory.current")
        }
        let cpuTime = CgroupFiles.readKey("usage_usec", in: cgroup + "/cpu.stat")
            .map { Duration.microseconds(Int64(clamping: $0)) }
        return CgroupUsage(
            memoryBytes: bytes,
            memoryPeakBytes: CgroupFiles.readInteger(cgroup + "/memory.peak"),
            cpuTime: cpuTime)
    }

    public func destroy(containerID: String) async throws(CgroupError) {
        try CgroupFiles.validate(containerID: containerID)
        let cgroup = directory(containerID)
        guard !CgroupFiles.removeEmpty([cgroup]).isEmpty else { return }
        // cgroup.kill (Linux 5.14+) kills every process atomically, forks included.
        if CgroupFiles.exists(cgroup + "/cgroup.kill") {
            try? CgroupFiles.write("1", to: cgroup + "/cgroup.kill")
        }
        try await CgroupFiles.killAndRemove([cgroup], containerID: containerID)
    }
}
