import LaunchBenchCore
import Testing

@Suite struct ProcFilesTests {
    @Test func readsVmRSS() {
        let status = "Name:\tagora\nState:\tS (sleeping)\nVmPeak:\t  500000 kB\nVmRSS:\t   23456 kB\nThreads:\t4\n"
        #expect(ProcFiles.residentKilobytes(status: status) == 23456)
        #expect(ProcFiles.residentKilobytes(status: "Name:\tkthreadd\nState:\tS\n") == nil)
        #expect(ProcFiles.residentKilobytes(status: "VmRSS:\t  twelve kB\n") == nil)
    }

    @Test func readsTheParent() {
        #expect(ProcFiles.parentPID(stat: "4242 (agora (x) y) S 4100 4242 4100 0 -1") == 4100)
        #expect(ProcFiles.parentPID(stat: "4242 (agora) S") == nil)
        #expect(ProcFiles.parentPID(stat: "") == nil)
    }

    @Test func readsCPUTicksPastACommandNameWithSpaces() throws {
        let stat = "4242 (agora exe) S 4100 4242 4100 0 -1 4194560 500 9 0 0 120 35 700 80 20 0 6 0 1234 5000 900"
        let ticks = try #require(ProcFiles.cpuTicks(stat: stat))
        #expect(ticks == ProcessCPUTicks(user: 120, system: 35, childrenUser: 700, childrenSystem: 80))
        #expect(ticks.own == 155)
        #expect(ticks.children == 780)
        #expect(ProcFiles.cpuTicks(stat: "4242 (agora) S 1 2") == nil)
    }

    @Test func recognizesTheClusterProcesses() {
        let work = "/tmp/agora-launch-bench-abc"
        #expect(ProcFiles.clusterRole(["/x/agora", "master", "--work-dir", work + "/master"], workDirectory: work) == "master")
        #expect(ProcFiles.clusterRole(["agora", "agent", "--work-dir", work + "/agent-1"], workDirectory: work) == "agent")
        #expect(ProcFiles.clusterRole(["agora", "agent", "--work-dir", "/elsewhere"], workDirectory: work) == nil)
        #expect(ProcFiles.clusterRole(["agora", "local", "--work-dir", work], workDirectory: work) == nil)
    }

    @Test func splitsCmdline() {
        #expect(ProcFiles.arguments(cmdline: Array("/opt/agora\0executor\0".utf8)) == ["/opt/agora", "executor"])
        #expect(ProcFiles.arguments(cmdline: Array("sh\0-c\0\0".utf8)) == ["sh", "-c", ""])
        #expect(ProcFiles.arguments(cmdline: []) == [])
    }

    @Test(arguments: [
        (["/work/main/.build/release/agora-executor"], true),
        (["agora-executor"], true),
        (["/usr/bin/agora", "agent"], false),
        (["/usr/bin/agora", "executor"], false),
        (["/usr/bin/not-agora-executor"], false),
        ([], false),
    ])
    func recognizesAgoraExecutors(arguments: [String], expected: Bool) {
        #expect(ProcFiles.isAgoraExecutor(arguments) == expected)
    }

    @Test func peakPerExecutorThenMedianOverExecutors() {
        var tally = ExecutorMemoryTally()
        #expect(tally.medianPeakKilobytes == nil)
        tally.record(pid: 1, kilobytes: 10_000)
        tally.record(pid: 1, kilobytes: 14_000)
        tally.record(pid: 1, kilobytes: 12_000)
        tally.record(pid: 2, kilobytes: 20_000)
        tally.record(pid: 3, kilobytes: 30_000)
        tally.finishSample()
        #expect(tally.executors == 3)
        #expect(tally.samples == 1)
        #expect(tally.medianPeakKilobytes == 20_000)
    }
}
