// CustomExecutor: a framework with its own executor. The scheduler launches one task
// on a custom executor (this same program, started by the agent with the argument
// `executor`), hands it work items as framework messages, and collects the results
// the executor sends back the same way. See README.md next to this file.

import AgoraProto
import Foundation
import Framework
import Logging
import Resources

/// A work item and its result, as they travel in framework messages (JSON).
struct WorkItem: Codable, Sendable {
    var id: Int
    var text: String
}

struct WorkResult: Codable, Sendable {
    var id: Int
    var words: Int
    var shouted: String
}

/// The control message that tells the executor no more work is coming.
let doneMarker = Data("done".utf8)

// MARK: - The executor (runs on the agent)

actor WordExecutor: Executor {
    private var taskID: String?

    func launchTask(_ driver: ExecutorDriver, task: Agora_V1_TaskInfo) async {
        taskID = task.taskID.value
        _ = try? await driver.sendStatusUpdate(taskID: task.taskID.value, state: .taskRunning,
                                           message: "ready for work on \(ProcessInfo.processInfo.hostName)")
    }

    func frameworkMessage(_ driver: ExecutorDriver, data: Data) async {
        guard let taskID else { return }
        if data == doneMarker {
            _ = try? await driver.sendStatusUpdate(taskID: taskID, state: .taskFinished, message: "all work done")
            await driver.stop()
            return
        }
        guard let item = try? JSONDecoder().decode(WorkItem.self, from: data) else {
            _ = try? await driver.sendStatusUpdate(taskID: taskID, state: .taskFailed, message: "a work item was not valid JSON")
            await driver.stop()
            return
        }
        let result = WorkResult(id: item.id, words: item.text.split(whereSeparator: \.isWhitespace).count,
                                shouted: item.text.uppercased())
        if let reply = try? JSONEncoder().encode(result) { try? await driver.sendFrameworkMessage(reply) }
    }

    func killTask(_ driver: ExecutorDriver, taskID: String, killPolicy: Agora_V1_KillPolicy?) async {
        _ = try? await driver.sendStatusUpdate(taskID: taskID, state: .taskKilled, message: "killed on request")
        await driver.stop()
    }
}

// MARK: - The scheduler (runs wherever you start it)

actor WorkScheduler: Scheduler {
    private let items: [WorkItem]
    private let executorPath: String
    private var launched = false
    private var results: [Int: WorkResult] = [:]
    private var outcome: CheckedContinuation<Bool, Never>?
    private var finalState: Bool?

    init(items: [WorkItem], executorPath: String) {
        self.items = items
        self.executorPath = executorPath
    }

    func waitForOutcome() async -> Bool {
        if let finalState { return finalState }
        return await withCheckedContinuation { outcome = $0 }
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        for offer in offers {
            let taskResources = try! Resources(parsing: "cpus:0.1;mem:32")
            let executorResources = try! Resources(parsing: "cpus:0.1;mem:64")
            guard !launched, var available = try? OfferResources(offer), available.take(taskResources + executorResources) else {
                try? await driver.decline(offerIDs: [offer.id.value], filters: .refuse(seconds: 30))
                continue
            }
            launched = true
            var executor = Agora_V1_ExecutorInfo()
            executor.type = .custom
            executor.executorID.value = "word-executor"
            executor.name = "word counting executor"
            executor.command.shell = false
            executor.command.value = executorPath
            executor.command.arguments = [executorPath, "executor"]
            executor.resources = executorResources.proto
            var task = Agora_V1_TaskInfo()
            task.name = "words"
            task.taskID.value = "words-1"
            task.agentID = offer.agentID
            task.resources = taskResources.proto
            task.executor = executor
            emit("launching words-1 on \(offer.hostname) with executor \(executorPath)")
            try? await driver.launch(offerIDs: [offer.id.value], tasks: [task])
            try? await driver.suppress()
        }
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        emit("\(status.taskID.value) \(status.state.name) \(status.message)")
        if status.state == .taskRunning {
            for item in items {
                if let data = try? JSONEncoder().encode(item) {
                    try? await driver.sendFrameworkMessage(agentID: status.agentID.value, executorID: "word-executor", data: data)
                }
            }
        } else if status.state.isTerminal {
            finish(status.state == .taskFinished && results.count == items.count)
        }
    }

    func frameworkMessage(_ driver: SchedulerDriver, agentID: String, executorID: String, data: Data) async {
        guard let result = try? JSONDecoder().decode(WorkResult.self, from: data) else { return }
        results[result.id] = result
        emit("result \(result.id): \(result.words) word(s), \"\(result.shouted)\"")
        if results.count == items.count {
            try? await driver.sendFrameworkMessage(agentID: agentID, executorID: executorID, data: doneMarker)
        }
    }

    private func finish(_ success: Bool) {
        guard finalState == nil else { return }
        finalState = success
        outcome?.resume(returning: success)
        outcome = nil
    }
}

func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("custom-executor: " + message + "\n").utf8))
    exit(2)
}

func runExecutor() async {
    do {
        let driver = try ExecutorDriver(executor: WordExecutor())
        try await driver.start()
        await driver.run()
    } catch {
        fail("the executor could not start: \(error)")
    }
}

func runScheduler(master: String, texts: [String]) async {
    let items = texts.enumerated().map { WorkItem(id: $0.offset, text: $0.element) }
    let executorPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var info = Agora_V1_FrameworkInfo()
    info.name = "custom-executor-example"
    info.user = "root"
    let scheduler = WorkScheduler(items: items, executorPath: executorPath)
    let driver = SchedulerDriver(master: master.hasPrefix("tcp://") ? master : "tcp://" + master,
                                 frameworkInfo: info, scheduler: scheduler)
    do {
        try await driver.start()
    } catch {
        fail("cannot start: \(error)")
    }
    let success = await scheduler.waitForOutcome()
    await driver.stop()
    emit(success ? "all \(items.count) work item(s) processed" : "the work did not complete")
    exit(success ? 0 : 1)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}
let arguments = CommandLine.arguments
if arguments.count >= 2, arguments[1] == "executor" {
    await runExecutor()
} else if arguments.count >= 2 {
    let texts = arguments.count > 2 ? Array(arguments.dropFirst(2)) : ["the quick brown fox", "jumps over", "the lazy dog"]
    await runScheduler(master: arguments[1], texts: texts)
} else {
    fail("usage: CustomExecutor MASTER [TEXT …]   (the agent starts it as `CustomExecutor executor`)")
}
