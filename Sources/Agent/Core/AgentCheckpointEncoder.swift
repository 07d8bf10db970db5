import AgoraProto
import Foundation

/// Encodes an agent's state as the JSON of its `AgentCheckpoint`, re-encoding only the
/// executors and tasks that changed since the previous call.
///
/// The document decodes (with `JSONDecoder`) to exactly `core.checkpoint(pids:)`, and
/// equal state gives equal bytes, so comparing documents tells whether to write.
/// Each executor and task entry is kept as encoded JSON next to the state it was made
/// from; an entry whose state compares equal is reused as is, so a batch that touches
/// one task costs one task's encoding, not every live task's. Pure: no I/O.
public struct AgentCheckpointEncoder {
    /// What an executor's checkpoint entry is made from.
    private struct ExecutorSource: Equatable {
        var containerID: String
        var info: Agora_V1_ExecutorInfo
        var isBuiltIn: Bool
        var tasks: Set<String>
        var queued: [Agora_V1_Executor_Event]
        var pid: Int32?
        var isShared: Bool
    }

    /// What a task's checkpoint entry is made from.
    private struct TaskSource: Equatable {
        var executorID: String
        var info: Agora_V1_TaskInfo
        var state: Agora_V1_TaskState
        var launched: Bool
        var seenUpdates: Set<Data>
        var pending: [Agora_V1_StatusUpdate]
        var containerID: String?
    }

    /// The fields besides executors and tasks, encoded as one object.
    private struct Header: Encodable {
        var agentID: String
        var bootID: String
        var frameworks: [Data]
        var containerCounter: Int
    }

    /// Sorted keys make equal state encode to equal bytes, which is how an unchanged
    /// checkpoint is recognised.
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    private var executorEntries: [ExecutorKey: (source: ExecutorSource, json: Data)] = [:]
    private var taskEntries: [AgentTaskKey: (source: TaskSource, json: Data)] = [:]

    /// How many executor and task entries were encoded afresh (not reused), over all calls.
    public private(set) var entriesEncoded = 0

    public init() {}

    /// The checkpoint document for `core`, or `nil` while the agent has no ID yet (there
    /// is nothing to recover before registration). `pids` maps container IDs to executor
    /// processes, as for `AgentCore.checkpoint(pids:)`.
    public mutating func encode(_ core: AgentCore, pids: [String: Int32]) throws -> Data? {
        guard let agentID = core.agentID else { return nil }
        let header = Header(
            agentID: agentID, bootID: core.configuration.bootID,
            frameworks: core.frameworks.keys.sorted().compactMap { try? core.frameworks[$0]?.serializedData() },
            containerCounter: core.containerCounter)
        var document = try encoder.encode(header)
        guard document.last == UInt8(ascii: "}") else {
            throw EncodingError.invalidValue(header, .init(codingPath: [], debugDescription: "the checkpoint header is not a JSON object"))
        }
        document.removeLast()

        document.append(contentsOf: #","executors":["#.utf8)
        var liveExecutors: Set<ExecutorKey> = []
        for (index, executor) in core.executors.values.sorted(by: { $0.key < $1.key }).enumerated() {
            liveExecutors.insert(executor.key)
            let source = ExecutorSource(containerID: executor.containerID, info: executor.info, isBuiltIn: executor.isBuiltIn,
                                        tasks: executor.tasks, queued: executor.queued, pid: pids[executor.containerID],
                                        isShared: executor.isShared)
            if index > 0 { document.append(UInt8(ascii: ",")) }
            if let cached = executorEntries[executor.key], cached.source == source {
                document.append(cached.json)
            } else {
                let json = try encoder.encode(AgentCheckpoint.Executor(executor, pid: source.pid))
                executorEntries[executor.key] = (source, json)
                entriesEncoded += 1
                document.append(json)
            }
        }
        if executorEntries.count > liveExecutors.count {
            executorEntries = executorEntries.filter { liveExecutors.contains($0.key) }
        }

        document.append(contentsOf: #"],"tasks":["#.utf8)
        var liveTasks: Set<AgentTaskKey> = []
        for (index, task) in core.tasks.values.sorted(by: { $0.key < $1.key }).enumerated() {
            liveTasks.insert(task.key)
            let pending = core.streams[task.key]?.pending ?? []
            let source = TaskSource(executorID: task.executorID, info: task.info, state: task.state, launched: task.launched,
                                    seenUpdates: task.seenUpdates, pending: pending, containerID: task.containerID)
            if index > 0 { document.append(UInt8(ascii: ",")) }
            if let cached = taskEntries[task.key], cached.source == source {
                document.append(cached.json)
            } else {
                let json = try encoder.encode(AgentCheckpoint.Task(task, pending: pending))
                taskEntries[task.key] = (source, json)
                entriesEncoded += 1
                document.append(json)
            }
        }
        if taskEntries.count > liveTasks.count {
            taskEntries = taskEntries.filter { liveTasks.contains($0.key) }
        }
        document.append(contentsOf: "]}".utf8)
        return document
    }
}
