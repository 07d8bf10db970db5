import AgoraProto
import Foundation
import Master
import Messaging
import Resources

// The master's share of a failover, in process and without the load generator:
// a master recovers a registry of AGENTS agents, then decodes and handles one
// re-registration per agent reporting TASKS running tasks each (the message a
// simulated or real agent sends), as its actor does after a restart.
//
//   FailoverBench AGENTS TASKS [ROUNDS]
//
// Prints one JSON line per round and one with the medians: seconds to decode all
// messages, seconds to handle them, and both per re-registration.

let arguments = CommandLine.arguments
guard arguments.count >= 3, let agentCount = Int(arguments[1]), let tasksPerAgent = Int(arguments[2]),
      agentCount > 0, tasksPerAgent >= 0 else {
    FileHandle.standardError.write(Data("usage: FailoverBench AGENTS TASKS [ROUNDS]\n".utf8))
    exit(2)
}
let rounds = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3
let clock = ContinuousClock()
let agentResources = try! Resources(parsing: "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]")
let taskResources = try! Resources(parsing: "cpus:0.1;mem:32")
let frameworkID = "bench-0001"
let frameworkInfo = {
    var info = Agora_V1_FrameworkInfo()
    info.id.value = frameworkID
    info.name = "failover-bench"
    info.user = "root"
    info.failoverTimeout = 3600
    return info
}()

func agentID(_ index: Int) -> String { "bench-S\(index)" }

func agentInfo(_ index: Int) -> Agora_V1_AgentInfo {
    var info = Agora_V1_AgentInfo()
    info.hostname = "sim-\(index).agora.invalid"
    info.resources = agentResources.proto
    info.id.value = agentID(index)
    return info
}

/// What `agora simulate`'s agents send (see AgentFleet.reregistration).
func reregistration(_ index: Int) -> [UInt8] {
    var message = Agora_V1_ReregisterAgent()
    message.agentInfo = agentInfo(index)
    message.version = "simulated"
    message.bootID = "bench-boot"
    message.frameworks = [frameworkInfo]
    for number in 0..<tasksPerAgent {
        var task = Agora_V1_Task()
        task.name = "task \(number)"
        task.taskID.value = "task-\(index)-\(number)"
        task.frameworkID.value = frameworkID
        task.executorID.value = "executor-\(index)-\(number)"
        task.agentID.value = agentID(index)
        task.state = .taskRunning
        task.resources = taskResources.proto
        message.tasks.append(task)
        var executor = Agora_V1_ExecutorInfo()
        executor.type = .default
        executor.executorID.value = task.executorID.value
        executor.frameworkID.value = frameworkID
        executor.name = "simulated executor \(task.executorID.value)"
        message.executorInfos.append(executor)
    }
    var envelope = Agora_V1_Envelope()
    envelope.reregisterAgent = message
    return try! envelope.serializedBytes()
}

var snapshot = RegistrySnapshot(masterRuns: ["bench"])
for index in 0..<agentCount {
    snapshot.agents[agentID(index)] = RegistryAgent(id: agentID(index), hostname: "sim-\(index).agora.invalid",
                                                    info: agentInfo(index), state: .admitted)
}
snapshot.frameworks[frameworkID] = RegistryFramework(id: frameworkID, info: frameworkInfo, failoverDeadline: Date().timeIntervalSince1970 + 3600)
let messages = (0..<agentCount).map(reregistration)
let bytes = messages.reduce(0) { $0 + $1.count }
let peers = (0..<4).map { PeerID("connection-\($0)") }

var decodeTimes: [Double] = []
var handleTimes: [Double] = []
for round in 0..<rounds {
    var core = MasterCore(configuration: MasterConfiguration(
        runID: "bench-\(round + 2)", hostname: "localhost", advertisedAddress: "tcp://127.0.0.1:5050",
        version: "bench", startedAtUnixSeconds: Date().timeIntervalSince1970))
    _ = core.recover(from: snapshot, now: .zero)

    let decodeStart = clock.now
    let envelopes = messages.map { try! Agora_V1_Envelope(serializedBytes: $0) }
    let decode = (clock.now - decodeStart).seconds

    let handleStart = clock.now
    var replies = 0
    for (index, envelope) in envelopes.enumerated() {
        replies += core.handle(envelope, from: peers[index % peers.count], now: .milliseconds(index / 100)).count
    }
    let handle = (clock.now - handleStart).seconds
    precondition(core.stateView(now: .seconds(1)).tasks.count == agentCount * tasksPerAgent, "every task re-registered")
    decodeTimes.append(decode)
    handleTimes.append(handle)
    print(#"{"round": \#(round), "agents": \#(agentCount), "tasks_per_agent": \#(tasksPerAgent), "bytes_per_message": \#(bytes / agentCount), "decode_s": \#(decode), "handle_s": \#(handle), "directives": \#(replies)}"#)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
let decode = median(decodeTimes), handle = median(handleTimes)
print(#"{"median": true, "agents": \#(agentCount), "tasks_per_agent": \#(tasksPerAgent), "decode_s": \#(decode), "handle_s": \#(handle), "decode_us_per_agent": \#(decode / Double(agentCount) * 1e6), "handle_us_per_agent": \#(handle / Double(agentCount) * 1e6)}"#)
