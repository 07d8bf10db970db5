import AgoraProto
import Foundation
import Framework
import LaunchBenchCore
import Logging
import Resources

// The launch path end to end: N short tasks through a real local cluster (`agora
// local`, two agents) against a plain posix_spawn + waitpid loop of the same program,
// alternating in each round. See BENCHMARKS.md ("Launch path") for how to read it.

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data(("LaunchBench: " + message + "\n").utf8))
    exit(status)
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let options: LaunchBenchOptions
do {
    options = try LaunchBenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch .helpRequested {
    say(LaunchBenchOptions.usage)
    exit(0)
} catch {
    fail("\(error)\n" + LaunchBenchOptions.usage)
}

let isExecutable: (String) -> Bool = { access($0, X_OK) == 0 }
guard let command = ExecutableLookup.resolve(options.command, searchPath: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                                             isExecutable: isExecutable) else {
    fail("--command \(options.command): no such executable in PATH")
}
guard isExecutable(options.agoraPath) else {
    fail("--agora \(options.agoraPath): not an executable file; build it (swift build --product agora) or pass its path")
}
let agora = URL(fileURLWithPath: options.agoraPath).standardizedFileURL.path
// The agents start the built-in executor from the directory `agora` is in.
let agoraExecutor = URL(fileURLWithPath: agora).deletingLastPathComponent().appendingPathComponent("agora-executor").path
guard isExecutable(agoraExecutor) else {
    fail("\(agoraExecutor): not an executable file; the agents start it for every task. Build it beside agora "
        + "(swift build --product agora-executor)")
}
let taskResources: Resources
do {
    taskResources = try Resources(parsing: "cpus:\(options.cpusPerTask);mem:\(options.memPerTask)")
} catch {
    fail("--cpus \(options.cpusPerTask) --mem \(options.memPerTask): \(error)")
}

/// Why the work dir's filesystem may distort the figures, or nil. On ext4 without a
/// journal every new inode skips the inodes deleted in the last minutes, so sandboxes
/// created right after a round deleted thousands cost several times more (BENCHMARKS.md,
/// "The work dir's filesystem").
func workDirectoryWarning(_ directory: String) -> String? {
    guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
    var best: (mountPoint: String, type: String, source: String)?
    for line in mountinfo.split(separator: "\n") {
        let halves = line.components(separatedBy: " - ")
        let fields = halves[0].split(separator: " ")
        guard halves.count == 2, fields.count >= 5 else { continue }
        let mountPoint = String(fields[4])
        let tail = halves[1].split(separator: " ")
        guard tail.count >= 2, directory == mountPoint || directory.hasPrefix(mountPoint == "/" ? "/" : mountPoint + "/"),
              mountPoint.count >= (best?.mountPoint.count ?? 0) else { continue }
        best = (mountPoint, String(tail[0]), String(tail[1]))
    }
    guard let best, best.type == "ext4" else { return nil }
    let device = (best.source as NSString).lastPathComponent
    guard let journal = try? String(contentsOfFile: "/sys/fs/ext4/\(device)/journal_task", encoding: .utf8),
          journal.trimmingCharacters(in: .whitespacesAndNewlines) == "<none>" else { return nil }
    return "the work dir \(directory) is on ext4 without a journal (\(best.source) at \(best.mountPoint)): sandbox files "
        + "cost more after earlier rounds deleted many; set TMPDIR to a journaled filesystem for stable figures"
}

if let warning = workDirectoryWarning(URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath().path) {
    FileHandle.standardError.write(Data(("LaunchBench: warning: " + warning + "\n").utf8))
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .error
    return handler
}

/// CPU seconds this process has used (user + system).
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let total = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
    return Double(total) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// One Agora run on a fresh cluster; nil (after saying why) when the cluster or the
/// driver did not start.
func runAgora() async -> (LaunchRunResult, ExecutorMemoryTally, LaunchCPUPerTask?)? {
    let cluster: LocalClusterProcess
    do {
        cluster = try await LocalClusterProcess.start(agora: agora, agents: 2, isolation: options.isolation,
                                                      allocationInterval: options.allocationInterval)
    } catch {
        say("cluster: \(error)")
        return nil
    }
    let sampler = ExecutorMemorySampler(workDirectory: cluster.workDirectory)
    sampler.start()
    let clusterCPUBefore = ProcReader.clusterCPUSeconds(workDirectory: cluster.workDirectory)
    let frameworkCPUBefore = ownCPUSeconds()
    var info = Agora_V1_FrameworkInfo()
    info.name = "launch-bench"
    let scheduler = LaunchScheduler(count: options.tasks, executable: command, resources: taskResources)
    let driver = SchedulerDriver(master: cluster.masterAddress, frameworkInfo: info, scheduler: scheduler)
    do {
        try await driver.start()
    } catch {
        say("driver: \(error)")
        _ = await sampler.stop()
        await cluster.stop()
        return nil
    }
    let completed = await withTaskGroup(of: Bool.self) { group in
        group.addTask { await scheduler.waitUntilComplete(); return true }
        group.addTask {
            try? await Task.sleep(for: .seconds(options.timeoutSeconds))
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        await scheduler.abandon()
        return first
    }
    // Executors still running are counted live (`clusterCPUSeconds`); a moment lets the
    // last tasks' exits be reaped.
    try? await Task.sleep(for: .milliseconds(200))
    let clusterCPU = ProcReader.clusterCPUSeconds(workDirectory: cluster.workDirectory)
    let (memory, samplerCPU) = await sampler.stop()
    let frameworkCPU = ownCPUSeconds() - frameworkCPUBefore - samplerCPU
    let result = await scheduler.result
    let launched = Double(max(result.finished + result.failed, 1))
    let cpu = completed ? LaunchCPUPerTask(master: (clusterCPU.master - clusterCPUBefore.master) / launched,
                                           agents: (clusterCPU.agents - clusterCPUBefore.agents) / launched,
                                           executorsAndTasks: (clusterCPU.executors - clusterCPUBefore.executors) / launched,
                                           framework: frameworkCPU / launched) : nil
    let failures = await scheduler.failures
    let problems = await scheduler.problems
    let traffic = (await scheduler.offersReceived, await scheduler.acceptsSent, await scheduler.updatesReceived)
    await driver.stop()
    let keep = !completed || !failures.isEmpty
    await cluster.stop(keepWorkDirectory: keep)
    say("  agora: offers \(traffic.0), accepts \(traffic.1), status updates \(traffic.2), executors seen \(memory.executors) in \(memory.samples) /proc samples"
        + String(format: " (%.2f CPU s)", samplerCPU))
    if !completed { say("  agora: timed out after \(options.timeoutSeconds) s with \(result.finished + result.failed) of \(options.tasks) tasks ended") }
    for (task, failure) in failures.sorted(by: { $0.key < $1.key }).prefix(5) { say("  agora: \(task) \(failure)") }
    for problem in problems.prefix(5) { say("  agora: \(problem)") }
    if keep { say("  agora: logs kept in \(cluster.workDirectory)") }
    return (result, memory, cpu)
}

func json(_ value: Double?, _ decimals: Int = 1) -> String { value.map { String(format: "%.\(decimals)f", $0) } ?? "null" }

say("LaunchBench: \(options.tasks) tasks of \(command) (cpus:\(options.cpusPerTask);mem:\(options.memPerTask)), \(options.rounds) round(s), agora \(agora)")
var rounds: [LaunchRound] = []
var anyFailure = false
for round in 1...options.rounds {
    let raw: [Double]
    let startup: [Double]
    do {
        raw = try RawSpawnLoop.run(command, count: options.tasks)
        startup = options.startupSamples > 0 ? try RawSpawnLoop.run(agoraExecutor, count: options.startupSamples) : []
    } catch {
        fail("\(error)")
    }
    let rawRate = Double(raw.count) / raw.reduce(0, +)
    guard let (agoraResult, memory, cpu) = await runAgora() else {
        anyFailure = true
        continue
    }
    if agoraResult.finished < options.tasks { anyFailure = true }
    let entry = LaunchRound(rawSpawnsPerSecond: rawRate, agora: agoraResult, executorRSSKilobytes: memory.medianPeakKilobytes,
                            executorStartSeconds: Statistics.median(startup), cpuPerTask: cpu)
    rounds.append(entry)
    say(#"{"round":\#(round),"tasks":\#(options.tasks),"raw_spawns_per_sec":\#(json(rawRate)),"#
        + #""agora_finished_per_sec":\#(json(agoraResult.finishedPerSecond)),"agora_seconds":\#(json(agoraResult.seconds, 3)),"#
        + #""ratio":\#(json(entry.ratio, 4)),"running_latency_p50_ms":\#(json(agoraResult.runningLatencyP50 * 1000)),"#
        + #""running_latency_p99_ms":\#(json(agoraResult.runningLatencyP99 * 1000)),"finished":\#(agoraResult.finished),"#
        + #""failed":\#(agoraResult.failed),"executor_rss_kb":\#(json(entry.executorRSSKilobytes, 0)),"#
        + #""executor_start_ms":\#(json(entry.executorStartSeconds.map { $0 * 1000 }, 2)),"#
        + #""cpu_ms_per_task":{"master":\#(json(cpu.map { $0.master * 1000 }, 2)),"agents":\#(json(cpu.map { $0.agents * 1000 }, 2)),"#
        + #""executors_and_tasks":\#(json(cpu.map { $0.executorsAndTasks * 1000 }, 2)),"framework":\#(json(cpu.map { $0.framework * 1000 }, 2))}}"#)
}
if let summary = LaunchSummary(rounds) {
    say("")
    say(summary.markdown(tasks: options.tasks))
}
exit(anyFailure ? 1 : 0)
