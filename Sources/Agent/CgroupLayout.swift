import Foundation

/// The cgroup hierarchies mounted on this host, and which one can enforce limits.
///
/// Hosts mount cgroup v1 (one hierarchy per controller), cgroup v2 (one unified
/// hierarchy), or both ("hybrid"). The agent enforces cpu and memory limits through
/// whichever version has both controllers available.
public struct CgroupLayout: Equatable, Sendable {
    /// cgroup version that carries a controller set.
    public enum Version: String, Sendable, Equatable {
        case v1, v2
    }

    /// Mount point of each v1 controller (`memory` → `/sys/fs/cgroup/memory`).
    public var v1Mounts: [String: String] = [:]
    /// Mount point of the v2 unified hierarchy, if any.
    public var v2Mount: String?
    /// Controllers enabled in the v2 root (`cgroup.controllers`).
    public var v2Controllers: Set<String> = []

    public init(v1Mounts: [String: String] = [:], v2Mount: String? = nil, v2Controllers: Set<String> = []) {
        self.v1Mounts = v1Mounts
        self.v2Mount = v2Mount
        self.v2Controllers = v2Controllers
    }

    /// The version that can limit both cpu and memory, preferring v2; `nil` when neither can.
    public var enforcingVersion: Version? {
        if v2Mount != nil, v2Controllers.isSuperset(of: ["cpu", "memory"]) { return .v2 }
        if v1Mounts["cpu"] != nil, v1Mounts["memory"] != nil { return .v1 }
        return nil
    }

    /// Reads `/proc/self/mountinfo` and the v2 root's `cgroup.controllers`.
    public static func detect() -> CgroupLayout {
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return parse(mountinfo: mountinfo) { path in
            try? String(contentsOfFile: path + "/cgroup.controllers", encoding: .utf8)
        }
    }

    /// Builds the layout from mountinfo text; `readControllers` returns the content of
    /// `cgroup.controllers` below a v2 mount point.
    public static func parse(mountinfo: String, readControllers: (String) -> String?) -> CgroupLayout {
        var layout = CgroupLayout()
        for line in mountinfo.split(separator: "\n") {
            // Format: id parent major:minor root mountpoint options [optional…] - fstype source superoptions
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let before = halves[0].split(separator: " ")
            let after = halves[1].split(separator: " ")
            guard before.count >= 5, after.count >= 3 else { continue }
            let mountPoint = String(before[4])
            switch after[0] {
            case "cgroup":
                for option in after[2].split(separator: ",") where !["rw", "ro"].contains(option) && !option.hasPrefix("name=") {
                    layout.v1Mounts[String(option)] = mountPoint
                }
            case "cgroup2":
                layout.v2Mount = mountPoint
                let controllers = readControllers(mountPoint) ?? ""
                layout.v2Controllers = Set(controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            default:
                continue
            }
        }
        return layout
    }
}
