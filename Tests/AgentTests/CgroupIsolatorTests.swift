import Foundation
import Glibc
import Testing

@testable import Agent
import ProcessSupervision

/// This host's isolator, or why there is none (printed once, shown on skipped tests).
enum CgroupTestHost {
    static let selection: Result<any CgroupIsolator, CgroupError> = {
        let result = selectIsolator(layout: .detect())
        if case .failure(let error) = result {
            print("cgroup tests skipped: \(error.description)")
        }
        return result
    }()

    static var isolator: (any CgroupIsolator)? { try? selection.get() }
    static var available: Bool { isolator != nil }
    static var skipReason: Comment {
        if case .failure(let error) = selection { return Comment(rawValue: "cgroups unavailable: \(error.description)") }
        return "cgroups available"
    }

    static func uniqueContainerID(_ label: String) -> String {
        "test-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Directories the isolator uses for `containerID`.
    static func directories(_ isolator: any CgroupIsolator, _ containerID: String) -> [String] {
        if let v1 = isolator as? CgroupV1Isolator { return v1.mounts.map { v1.directory($0, containerID) } }
        if let v2 = isolator as? CgroupV2Isolator { return [v2.directory(containerID)] }
        return []
    }
}

@Suite("Cgroup isolation on this host", .serialized, .enabled(if: CgroupTestHost.available, CgroupTestHost.skipReason))
struct CgroupIsolatorHostTests {
    let monitor = ChildProcessMonitor.shared

    @Test("a container over its memory limit is OOM-killed and reported as such")
    func memoryLimit() async throws {
        let isolator = try #require(CgroupTestHost.isolator)
        let containerID = CgroupTestHost.uniqueContainerID("oom")
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        var pid: pid_t = 0
        do {
            try isolator.create(containerID: containerID, cpus: 0.5, memoryMB: 64, cfsQuota: true)
            #expect(!isolator.memoryLimitReached(containerID: containerID))
            // Wait for the gate so that `head` and `tail` start inside the cgroup.
            pid = try monitor.spawn(.shell(
                "while [ ! -e gate ]; do sleep 0.02; done; head -c 200M /dev/zero | tail",
                environment: ["PATH": "/usr/bin:/bin"], workingDirectory: directory,
                stdoutPath: directory + "/stdout", stderrPath: directory + "/stderr"))
            try isolator.add(pid: pid, containerID: containerID)
            _ = FileManager.default.createFile(atPath: directory + "/gate", contents: nil)
            let status = await monitor.waitForExit(pid, timeout: .seconds(60))
            #expect(status != nil)
            #expect(status?.isSuccess == false)
            #expect(isolator.memoryLimitReached(containerID: containerID))
            let usage = try isolator.usage(containerID: containerID)
            #expect(usage.memoryBytes <= 64 * 1_048_576)
        } catch {
            Issue.record("\(error)")
        }
        if pid > 0 { kill(-pid, SIGKILL) }
        try await isolator.destroy(containerID: containerID)
        for path in CgroupTestHost.directories(isolator, containerID) {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) should be removed")
        }
    }

    @Test("limits are written, usage is read, and destroy kills the processes and removes the cgroup")
    func limitsUsageAndDestroy() async throws {
        let isolator = try #require(CgroupTestHost.isolator)
        let containerID = CgroupTestHost.uniqueContainerID("limits")
        var pids: [pid_t] = []
        do {
            try isolator.create(containerID: containerID, cpus: 1.5, memoryMB: 100, cfsQuota: true)
            let directories = CgroupTestHost.directories(isolator, containerID)
            #expect(!directories.isEmpty)
            for path in directories {
                #expect(FileManager.default.fileExists(atPath: path))
            }
            if let v1 = isolator as? CgroupV1Isolator {
                let cpu = v1.directory(v1.cpuMount, containerID)
                let memory = v1.directory(v1.memoryMount, containerID)
                #expect(CgroupFiles.readInteger(cpu + "/cpu.shares") == 1_536)
                #expect(CgroupFiles.readInteger(cpu + "/cpu.cfs_period_us") == 100_000)
                #expect(CgroupFiles.readInteger(cpu + "/cpu.cfs_quota_us") == 150_000)
                #expect(CgroupFiles.readInteger(memory + "/memory.limit_in_bytes") == 104_857_600)
                // Updating in place works, including a quota switched off.
                try isolator.create(containerID: containerID, cpus: 0.25, memoryMB: 200, cfsQuota: false)
                #expect(CgroupFiles.readInteger(cpu + "/cpu.shares") == 256)
                #expect(CgroupFiles.read(cpu + "/cpu.cfs_quota_us")?.hasPrefix("-1") == true)
                #expect(CgroupFiles.readInteger(memory + "/memory.limit_in_bytes") == 209_715_200)
            } else if let v2 = isolator as? CgroupV2Isolator {
                let cgroup = v2.directory(containerID)
                #expect(CgroupFiles.read(cgroup + "/cpu.max")?.hasPrefix("150000 100000") == true)
                #expect(CgroupFiles.readInteger(cgroup + "/memory.max") == 104_857_600)
            }

            // A process that forks once inside the cgroup: both must die with it.
            let gate = NSTemporaryDirectory() + containerID + ".gate"
            defer { ContainerizerTestSupport.remove(gate) }
            let leader = try monitor.spawn(.shell(
                "while [ ! -e \(gate) ]; do sleep 0.02; done; sleep 60 & sleep 60; wait",
                environment: ["PATH": "/usr/bin:/bin"]))
            pids.append(leader)
            try isolator.add(pid: leader, containerID: containerID)
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            #expect(await ContainerizerTestSupport.eventually {
                directories.allSatisfy { CgroupFiles.processes(in: $0).count >= 3 }
            })
            #expect(directories.allSatisfy { CgroupFiles.processes(in: $0).contains(leader) })
            let usage = try isolator.usage(containerID: containerID)
            #expect(usage.memoryBytes > 0)
            if isolator is CgroupV1Isolator, (isolator as? CgroupV1Isolator)?.cpuacctMount != nil {
                #expect(usage.cpuTime != nil)
            }

            try await isolator.destroy(containerID: containerID)
            #expect(await monitor.waitForExit(leader, timeout: .seconds(10)) == .signaled(signal: SIGKILL))
            for path in directories {
                #expect(!FileManager.default.fileExists(atPath: path), "\(path) should be removed")
            }
            // Destroying twice is fine.
            try await isolator.destroy(containerID: containerID)
        } catch {
            Issue.record("\(error)")
            try? await isolator.destroy(containerID: containerID)
        }
        for pid in pids { kill(-pid, SIGKILL) }
    }

    @Test("destroy kills processes forked inside the cgroup")
    func destroyKillsForks() async throws {
        let isolator = try #require(CgroupTestHost.isolator)
        let containerID = CgroupTestHost.uniqueContainerID("forks")
        let directory = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(directory) }
        try isolator.create(containerID: containerID, cpus: 0.5, memoryMB: 64, cfsQuota: false)
        let pid = try monitor.spawn(.shell(
            "while [ ! -e gate ]; do sleep 0.02; done; setsid sleep 60 & echo $! > child.pid; wait",
            environment: ["PATH": "/usr/bin:/bin"], workingDirectory: directory))
        try isolator.add(pid: pid, containerID: containerID)
        _ = FileManager.default.createFile(atPath: directory + "/gate", contents: nil)
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.read(directory + "/child.pid").hasSuffix("\n") })
        let child = pid_t(ContainerizerTestSupport.read(directory + "/child.pid").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try await isolator.destroy(containerID: containerID)
        #expect(await monitor.waitForExit(pid, timeout: .seconds(10)) == .signaled(signal: SIGKILL))
        // `setsid` left the process group, so only the cgroup could reach it.
        #expect(child > 0)
        #expect(await ContainerizerTestSupport.eventually { ContainerizerTestSupport.isGone(child) })
    }

    @Test("invalid container IDs and limits are rejected before touching the hierarchy")
    func invalidArguments() throws {
        let isolator = try #require(CgroupTestHost.isolator)
        for id in ["", "..", "a/b", "../agora"] {
            let error = #expect(throws: CgroupError.self) {
                try isolator.create(containerID: id, cpus: 1, memoryMB: 64, cfsQuota: false)
            }
            #expect(error?.code == .invalidArgument)
        }
        let error = #expect(throws: CgroupError.self) {
            try isolator.create(containerID: CgroupTestHost.uniqueContainerID("bad"), cpus: 0, memoryMB: 64, cfsQuota: false)
        }
        #expect(error?.code == .invalidArgument)
    }
}

@Suite("Cgroup isolation logic")
struct CgroupIsolatorLogicTests {
    @Test("cpu shares map to cgroup v2 weights as Kubernetes does", arguments: [
        (UInt64(2), UInt64(1)), (1_024, 39), (2_048, 79), (262_144, 10_000), (1_000_000, 10_000),
    ])
    func weights(shares: UInt64, weight: UInt64) {
        #expect(CgroupV2Isolator.weight(shares: shares) == weight)
    }

    @Test("cpu and memory amounts convert to kernel units")
    func conversions() {
        #expect(CgroupFiles.shares(cpus: 0.001) == 2)
        #expect(CgroupFiles.shares(cpus: 2) == 2_048)
        #expect(CgroupFiles.cfsQuota(cpus: 0.5) == 50_000)
        #expect(CgroupFiles.cfsQuota(cpus: 0.001) == 1_000)
        #expect(CgroupFiles.memoryBytes(megabytes: 64) == 67_108_864)
    }

    @Test("a layout without cpu and memory controllers yields a reason, not an isolator")
    func unavailable() throws {
        let layout = CgroupLayout(v1Mounts: ["pids": "/sys/fs/cgroup/pids"], v2Mount: "/sys/fs/cgroup/unified")
        #expect(makeIsolator(layout: layout) == nil)
        guard case .failure(let error) = selectIsolator(layout: layout) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .unavailable)
        if geteuid() == 0 {
            #expect(error.description == "no cgroup hierarchy has both cpu and memory controllers (v1 controllers: [pids]; v2: /sys/fs/cgroup/unified with controllers [])")
        }
    }

    @Test("the v2 isolator writes weight, quota, memory and swap limits (on a fake hierarchy)")
    func v2OnFakeHierarchy() async throws {
        let mount = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(mount) }
        try "cpu memory pids io\n".write(toFile: mount + "/cgroup.controllers", atomically: false, encoding: .utf8)
        let isolator = try CgroupV2Isolator(mountPoint: mount, root: "agora")
        #expect(CgroupFiles.read(mount + "/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(CgroupFiles.read(mount + "/agora/cgroup.subtree_control") == "+cpu +memory")

        let cgroup = mount + "/agora/c1"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: cgroup + "/memory.swap.max", contents: nil)
        try isolator.create(containerID: "c1", cpus: 2, memoryMB: 128, cfsQuota: true)
        #expect(CgroupFiles.read(cgroup + "/cpu.weight") == "79")
        #expect(CgroupFiles.read(cgroup + "/cpu.max") == "200000 100000")
        #expect(CgroupFiles.read(cgroup + "/memory.max") == "134217728")
        #expect(CgroupFiles.read(cgroup + "/memory.swap.max") == "0")
        try isolator.create(containerID: "c1", cpus: 2, memoryMB: 128, cfsQuota: false)
        #expect(CgroupFiles.read(cgroup + "/cpu.max") == "max 100000")

        try "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n".write(toFile: cgroup + "/memory.events", atomically: false, encoding: .utf8)
        #expect(!isolator.memoryLimitReached(containerID: "c1"))
        try "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n".write(toFile: cgroup + "/memory.events", atomically: false, encoding: .utf8)
        #expect(isolator.memoryLimitReached(containerID: "c1"))

        try "1234\n".write(toFile: cgroup + "/memory.current", atomically: false, encoding: .utf8)
        try "usage_usec 2500000\nuser_usec 2000000\n".write(toFile: cgroup + "/cpu.stat", atomically: false, encoding: .utf8)
        #expect(try isolator.usage(containerID: "c1") == CgroupUsage(memoryBytes: 1_234, cpuTime: .milliseconds(2_500)))
    }

    @Test("the v1 isolator detects OOM kills from oom_control, else from failcnt and peak (on a fake hierarchy)")
    func v1OomDetection() throws {
        let mount = try ContainerizerTestSupport.makeTemporaryDirectory()
        defer { ContainerizerTestSupport.remove(mount) }
        let layout = CgroupLayout(v1Mounts: ["cpu": mount + "/cpu", "memory": mount + "/memory"])
        let isolator = try CgroupV1Isolator(layout: layout)
        try isolator.create(containerID: "c1", cpus: 1, memoryMB: 1, cfsQuota: false)
        let memory = mount + "/memory/agora/c1"
        #expect(CgroupFiles.read(memory + "/memory.limit_in_bytes") == "1048576")
        #expect(!isolator.memoryLimitReached(containerID: "c1"))
        try "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n".write(toFile: memory + "/memory.oom_control", atomically: false, encoding: .utf8)
        #expect(isolator.memoryLimitReached(containerID: "c1"))
        try FileManager.default.removeItem(atPath: memory + "/memory.oom_control")
        try "3\n".write(toFile: memory + "/memory.failcnt", atomically: false, encoding: .utf8)
        try "1048576\n".write(toFile: memory + "/memory.max_usage_in_bytes", atomically: false, encoding: .utf8)
        #expect(isolator.memoryLimitReached(containerID: "c1"))
        try "1000\n".write(toFile: memory + "/memory.max_usage_in_bytes", atomically: false, encoding: .utf8)
        #expect(!isolator.memoryLimitReached(containerID: "c1"))
    }
}
