import AgoraProto
import Foundation
import Messaging
import Testing

@testable import Agent

@Suite struct CheckpointEncoderTests {
    typealias S = AgentScenario

    /// Decodes what the encoder wrote, the way the agent reads its checkpoint back.
    static func decode(_ data: Data?) throws -> AgentCheckpoint? {
        try data.map { try JSONDecoder().decode(AgentCheckpoint.self, from: $0) }
    }

    @Test func thereIsNoCheckpointBeforeTheAgentHasAnID() throws {
        let scenario = S()
        var encoder = AgentCheckpointEncoder()
        #expect(try encoder.encode(scenario.core, pids: [:]) == nil)
    }

    @Test func theDocumentDecodesToTheCoresCheckpointAfterEveryInput() throws {
        var scenario = S()
        var encoder = AgentCheckpointEncoder()
        var pids: [String: Int32] = [:]
        func check(_ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let decoded = try Self.decode(encoder.encode(scenario.core, pids: pids))
            #expect(decoded == scenario.core.checkpoint(pids: pids), "after \(step)", sourceLocation: sourceLocation)
        }

        try scenario.register()
        try check("registration")
        for id in ["a", "b", "c"] {
            let directives = scenario.runTask(S.task(id))
            try check("RunTask \(id)")
            if let launch = S.launches(directives).first {
                pids[launch.containerID] = 100
                try check("the shared executor started")
            }
        }
        _ = scenario.kill(task: "a")
        try check("a killed before it started")
        let executor = try #require(scenario.sharedExecutor)
        let peer = PeerID("exec-shared")
        _ = scenario.subscribe(peer, executor: executor.executorID)
        try check("the executor subscribed")
        _ = scenario.update(peer, task: "b", state: .taskRunning, uuid: S.uuid(1))
        try check("b running")
        _ = scenario.acknowledge(task: "b", uuid: S.uuid(1))
        try check("b's running acknowledged")
        _ = scenario.update(peer, task: "b", state: .taskFinished, uuid: S.uuid(2))
        try check("b finished")
        let containerID = try #require(scenario.core.executors[executor]?.containerID)
        _ = scenario.core.executorExited(executor, containerID: containerID, status: 0, description: "exited with status 0",
                                         memoryLimitReached: false, now: scenario.now)
        pids[containerID] = nil
        try check("the executor exited")
        _ = scenario.acknowledge(task: "b", uuid: S.uuid(2))
        try check("b's finish acknowledged")
        #expect(scenario.core.tasks[AgentTaskKey(frameworkID: S.frameworkID, taskID: "b")] == nil)
    }

    @Test func aPingChangesNothingAndEncodesNoEntryAgain() throws {
        var scenario = S()
        var encoder = AgentCheckpointEncoder()
        try scenario.register()
        for id in ["a", "b"] { _ = try scenario.runningTask(id) }
        let before = try encoder.encode(scenario.core, pids: [:])
        let encoded = encoder.entriesEncoded

        let replies = scenario.fromMaster { envelope in
            var ping = Agora_V1_Ping()
            ping.agentID.value = S.agentID
            ping.sequence = 7
            envelope.ping = ping
        }
        #expect(S.toMaster(replies).count == 1, "the ping is answered")
        let after = try encoder.encode(scenario.core, pids: [:])
        #expect(after == before, "\(String(decoding: before ?? Data(), as: UTF8.self))\n\(String(decoding: after ?? Data(), as: UTF8.self))")
        #expect(encoder.entriesEncoded == encoded)
    }

    @Test func anUpdateReencodesOnlyItsTask() throws {
        var scenario = S()
        var encoder = AgentCheckpointEncoder()
        var peers: [String: PeerID] = [:]
        for id in ["a", "b", "c", "d"] { peers[id] = try scenario.runningTask(id) }
        let before = try encoder.encode(scenario.core, pids: [:])
        let encoded = encoder.entriesEncoded

        _ = scenario.update(try #require(peers["c"]), task: "c", state: .taskRunning, uuid: S.uuid(3))
        let after = try encoder.encode(scenario.core, pids: [:])
        #expect(after != before)
        #expect(encoder.entriesEncoded == encoded + 1)
        let task = try #require(try Self.decode(after)?.tasks.first { $0.taskID == "c" })
        #expect(task.state == Agora_V1_TaskState.taskRunning.rawValue)
        #expect(task.pendingUpdates.count == 1)
    }

    @Test func aRecoveredCoreCheckpointsTheSameState() throws {
        var scenario = S()
        var encoder = AgentCheckpointEncoder()
        let peer = try scenario.runningTask("a")
        _ = scenario.update(peer, task: "a", state: .taskRunning, uuid: S.uuid(1))
        let executor = try #require(scenario.core.executors.values.first)
        let pids = [executor.containerID: Int32(4_242)]
        let checkpoint = try #require(try Self.decode(encoder.encode(scenario.core, pids: pids)))

        let recovered = AgentCore(configuration: scenario.core.configuration, recovering: checkpoint,
                                  liveContainers: [executor.containerID], now: .zero)
        #expect(recovered.checkpoint(pids: pids) == checkpoint)
    }
}
