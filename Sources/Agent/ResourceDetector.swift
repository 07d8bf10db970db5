import Resources

/// Decides what an agent offers: detected host capacity, overridden by `--resources`.
public enum ResourceDetector {
    /// The ports offered when `--resources` names none.
    public static let defaultPorts = RangeSet([31_000...32_000])

    /// What a host offers by default, following Mesos: all cpus; memory minus 1 GB
    /// for the host when it has at least 2 GB, otherwise half; disk minus 5 GB when
    /// the filesystem has at least 10 GB, otherwise half; ports 31000-32000.
    public static func defaults(for host: HostFacts) -> Resources {
        let megabyte: UInt64 = 1_024 * 1_024
        let memory = host.memoryBytes / megabyte
        let disk = host.diskBytes / megabyte
        let memoryOffered = memory >= 2_048 ? memory - 1_024 : memory / 2
        let diskOffered = disk >= 10_240 ? disk - 5_120 : disk / 2
        return Resources([
            Resource(name: "cpus", value: .scalar(Scalar(Double(host.cpus)))),
            Resource(name: "mem", value: .scalar(Scalar(Double(memoryOffered)))),
            Resource(name: "disk", value: .scalar(Scalar(Double(diskOffered)))),
            Resource(name: "ports", value: .ranges(defaultPorts)),
        ])
    }

    /// `detected` with every resource named in `overrides` replaced by the override
    /// (so `--resources "cpus:2"` offers 2 cpus and the detected memory, disk and ports).
    public static func resources(detected: Resources, overrides: Resources) -> Resources {
        let overridden = Set(overrides.names)
        return detected.filter { !overridden.contains($0.name) } + overrides
    }
}
