// BatchFramework: runs a JSON list of shell jobs across an Agora cluster, retrying
// failures, and prints a summary — a small mesos-execute/Chronos built on the
// public Framework SDK. See README.md next to this file.

import AgoraProto
import Foundation
import Framework
import Logging
import Resources

/// One entry of the jobs file.
struct Job: Codable, Sendable {
    var name: String
    var command: String
    var cpus: Double? = nil
    var mem: Double? = nil
    /// Extra attempts after a failure.
    var retries: Int? = nil
}

/// What the framework remembers across restarts (in `--state-dir`), so that a
/// restarted framework neither loses nor relaunches work.
struct JobState: Codable, Sendable {
    enum Phase: String, Codable { case pending, launched, succeeded, failed }
    var phase: Phase = .pending
    var attempts = 0
    var taskID: String?
    var agentID: String?
    var lastMessage = ""
}

actor BatchScheduler: Scheduler {
    private let jobs: [Job]
    private var states: [String: JobState]
    private let statePath: String
    private var done: CheckedContinuation<Void, Never>?

    init(jobs: [Job], stateDirectory: String) {
        self.jobs = jobs
        self.statePath = stateDirectory + "/jobs.json"
        let saved = (try? Data(contentsOf: URL(fileURLWithPath: statePath)))
            .flatMap { try? JSONDecoder().decode([String: JobState].self, from: $0) } ?? [:]
        var states: [String: JobState] = [:]
        for job in jobs { states[job.name] = saved[job.name] ?? JobState() }
        self.states = states
    }

    var finished: Bool { states.values.allSatisfy { $0.phase == .succeeded || $0.phase == .failed } }

    func waitUntilFinished() async {
        if finished { return }
        await withCheckedContinuation { done = $0 }
    }

    func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {
        log("subscribed as \(frameworkID)")
        // After a restart or failover, ask where the launched tasks stand before doing
        // anything else; they are not launched again.
        let launched = states.values.filter { $0.phase == .launched }.compactMap { state in
            state.taskID.map { (taskID: $0, agentID: state.agentID) }
        }
        if !launched.isEmpty {
            log("reconciling \(launched.count) launched task(s)")
            try? await driver.reconcile(tasks: launched)
        }
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        for offer in offers {
            guard var available = try? OfferResources(offer) else { continue }
            var tasks: [Agora_V1_TaskInfo] = []
            for job in jobs where states[job.name]?.phase == .pending {
                guard let resources = try? Resources(parsing: "cpus:\(job.cpus ?? 0.1);mem:\(job.mem ?? 32)"),
                      available.take(resources) else { continue }
                var state = states[job.name]!
                state.attempts += 1
                state.phase = .launched
                state.taskID = "\(job.name)-attempt-\(state.attempts)"
                state.agentID = offer.agentID.value
                states[job.name] = state
                tasks.append(.command(id: state.taskID!, name: job.name, shell: job.command, resources: resources,
                                      agentID: offer.agentID.value))
            }
            if tasks.isEmpty {
                try? await driver.decline(offerIDs: [offer.id.value], filters: .refuse(seconds: 5))
                continue
            }
            save()  // before launching: a crash now must not launch these again
            for task in tasks { log("launching \(task.taskID.value) on \(offer.hostname)") }
            try? await driver.launch(offerIDs: [offer.id.value], tasks: tasks)
        }
        if !states.values.contains(where: { $0.phase == .pending }) { try? await driver.suppress() }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        guard let job = jobs.first(where: { states[$0.name]?.taskID == status.taskID.value }),
              var state = states[job.name] else { return }
        log("\(status.taskID.value) \(status.state.name) \(status.message)")
        state.lastMessage = status.message
        switch status.state {
        case .taskFinished:
            state.phase = .succeeded
        case .taskFailed, .taskKilled, .taskError, .taskLost, .taskDropped, .taskGone, .taskGoneByOperator, .taskUnknown:
            if state.attempts <= (job.retries ?? 0) {
                state.phase = .pending
                log("retrying \(job.name) (attempt \(state.attempts + 1) of \((job.retries ?? 0) + 1))")
                try? await driver.revive()
            } else {
                state.phase = .failed
            }
        default:
            break
        }
        states[job.name] = state
        save()
        if finished {
            done?.resume()
            done = nil
        }
    }

    func error(_ driver: SchedulerDriver, message: String) async {
        log("master error: \(message)")
    }

    /// The summary table and whether every job succeeded.
    func summary() -> (text: String, allSucceeded: Bool) {
        var lines = ["JOB                  RESULT     ATTEMPTS  LAST MESSAGE"]
        for job in jobs {
            let state = states[job.name]!
            lines.append(job.name.padding(toLength: 20, withPad: " ", startingAt: 0) + " "
                + state.phase.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + " "
                + String(state.attempts).padding(toLength: 9, withPad: " ", startingAt: 0) + " " + state.lastMessage)
        }
        let succeeded = states.values.filter { $0.phase == .succeeded }.count
        lines.append("\(succeeded) of \(jobs.count) job(s) succeeded")
        return (lines.joined(separator: "\n"), succeeded == jobs.count)
    }

    private func save() {
        if let data = try? JSONEncoder().encode(states) {
            try? data.write(to: URL(fileURLWithPath: statePath), options: .atomic)
        }
    }

    private func log(_ message: String) {
        FileHandle.standardOutput.write(Data((message + "\n").utf8))
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("batch-framework: " + message + "\n").utf8))
    exit(2)
}

func main() async {
    let arguments = CommandLine.arguments
    guard arguments.count >= 3 else {
        fail("usage: BatchFramework MASTER JOBS.json [STATE-DIR]\n  e.g. BatchFramework 127.0.0.1:5050 jobs.json ./batch-state")
    }
    let master = arguments[1].hasPrefix("tcp://") ? arguments[1] : "tcp://" + arguments[1]
    let stateDirectory = arguments.count > 3 ? arguments[3] : FileManager.default.currentDirectoryPath + "/batch-state"
    let jobs: [Job]
    do {
        jobs = try JSONDecoder().decode([Job].self, from: Data(contentsOf: URL(fileURLWithPath: arguments[2])))
    } catch {
        fail("cannot read the jobs in \(arguments[2]): \(error)")
    }
    guard !jobs.isEmpty, Set(jobs.map(\.name)).count == jobs.count else {
        fail("the jobs file must list at least one job, with unique names")
    }
    do {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    } catch {
        fail("cannot create the state directory \(stateDirectory): \(error)")
    }

    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    var info = Agora_V1_FrameworkInfo()
    info.name = "batch"
    info.user = "root"
    info.failoverTimeout = 300  // a restarted batch framework picks up where it left off
    let scheduler = BatchScheduler(jobs: jobs, stateDirectory: stateDirectory)
    let driver = SchedulerDriver(master: master, frameworkInfo: info, scheduler: scheduler,
                                 idStore: FileFrameworkIDStore(path: stateDirectory + "/framework-id"))
    do {
        try await driver.start()
    } catch {
        fail("cannot start: \(error)")
    }
    await scheduler.waitUntilFinished()
    let (text, allSucceeded) = await scheduler.summary()
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
    await driver.stop()
    try? FileManager.default.removeItem(atPath: stateDirectory + "/jobs.json")
    exit(allSucceeded ? 0 : 1)
}

await main()
