import AgoraProto
import Foundation

/// Everything an agent must remember to survive its own restart: its ID, the
/// frameworks, executors and tasks it runs, and every status update not yet
/// acknowledged. Written atomically (and fsync'd) by the shell before any update
/// leaves the agent; read back by `AgentCore(recovering:…)`.
public struct AgentCheckpoint: Codable, Sendable, Equatable {
    public struct Executor: Codable, Sendable, Equatable {
        public var frameworkID: String
        public var executorID: String
        public var containerID: String
        /// `ExecutorInfo`, serialized.
        public var info: Data
        public var isBuiltIn: Bool
        public var tasks: [String]
        /// Launch events not yet handed to the executor, serialized.
        public var queued: [Data]
        /// The executor process (and process group), filled in by the shell.
        public var pid: Int32?
        /// The framework's shared command executor (absent in older checkpoints: false).
        public var isShared: Bool?
    }

    public struct Task: Codable, Sendable, Equatable {
        public var frameworkID: String
        public var taskID: String
        public var executorID: String
        /// `TaskInfo`, serialized.
        public var info: Data
        public var state: Int
        public var launched: Bool
        public var seenUpdates: [Data]
        /// Unacknowledged `StatusUpdate`s in order, serialized.
        public var pendingUpdates: [Data]
        /// The task's own container (a command task of a shared executor).
        public var containerID: String?
    }

    public var agentID: String
    public var bootID: String
    /// `FrameworkInfo`s, serialized.
    public var frameworks: [Data]
    public var executors: [Executor]
    public var tasks: [Task]
    public var containerCounter: Int
}

extension AgentCheckpoint.Executor {
    /// The entry for `executor`, whose process is `pid` when known.
    init(_ executor: AgentExecutor, pid: Int32?) {
        self.init(frameworkID: executor.key.frameworkID, executorID: executor.key.executorID,
                  containerID: executor.containerID, info: (try? executor.info.serializedData()) ?? Data(),
                  isBuiltIn: executor.isBuiltIn, tasks: executor.tasks.sorted(),
                  queued: executor.queued.compactMap { try? $0.serializedData() }, pid: pid,
                  isShared: executor.isShared ? true : nil)
    }
}

extension AgentCheckpoint.Task {
    /// The entry for `task`, with its unacknowledged updates `pending`.
    init(_ task: AgentTask, pending: [Agora_V1_StatusUpdate]) {
        self.init(frameworkID: task.key.frameworkID, taskID: task.key.taskID, executorID: task.executorID,
                  info: (try? task.info.serializedData()) ?? Data(), state: task.state.rawValue, launched: task.launched,
                  seenUpdates: task.seenUpdates.sorted { $0.lexicographicallyPrecedes($1) },
                  pendingUpdates: pending.compactMap { try? $0.serializedData() }, containerID: task.containerID)
    }
}

extension AgentCore {
    /// The state to write to disk; `pids` maps container IDs to executor processes.
    public func checkpoint(pids: [String: Int32]) -> AgentCheckpoint? {
        guard let agentID else { return nil }
        return AgentCheckpoint(
            agentID: agentID, bootID: configuration.bootID,
            frameworks: frameworks.keys.sorted().compactMap { try? frameworks[$0]?.serializedData() },
            executors: executors.values.sorted { $0.key < $1.key }.map { AgentCheckpoint.Executor($0, pid: pids[$0.containerID]) },
            tasks: tasks.values.sorted { $0.key < $1.key }.map { AgentCheckpoint.Task($0, pending: streams[$0.key]?.pending ?? []) },
            containerCounter: containerCounter)
    }

    /// Rebuilds an agent from its checkpoint after a restart on the same host.
    ///
    /// Executors in `liveContainers` are expected to reconnect and subscribe again
    /// (within `executorRegistrationTimeout`); the tasks of the others are reported
    /// failed, since their executor ended while the agent was away. The agent then
    /// re-registers under its old ID and re-sends every unacknowledged update.
    public init(configuration: AgentConfiguration, recovering checkpoint: AgentCheckpoint,
                liveContainers: Set<String>, now: Duration) {
        self.init(configuration: configuration, agentID: checkpoint.agentID)
        self.configuration.agentInfo.id.value = checkpoint.agentID
        containerCounter = checkpoint.containerCounter
        for data in checkpoint.frameworks {
            if let info = try? Agora_V1_FrameworkInfo(serializedBytes: data) { frameworks[info.id.value] = info }
        }
        for entry in checkpoint.tasks {
            let key = AgentTaskKey(frameworkID: entry.frameworkID, taskID: entry.taskID)
            var task = AgentTask(key: key, executorID: entry.executorID,
                                 info: (try? Agora_V1_TaskInfo(serializedBytes: entry.info)) ?? Agora_V1_TaskInfo(),
                                 state: Agora_V1_TaskState(rawValue: entry.state) ?? .taskLost)
            task.launched = entry.launched
            task.containerID = entry.containerID
            task.seenUpdates = Set(entry.seenUpdates)
            tasks[key] = task
            let pending = entry.pendingUpdates.compactMap { try? Agora_V1_StatusUpdate(serializedBytes: $0) }
            if !pending.isEmpty {
                streams[key] = StatusUpdateStream(pending: pending, nextRetryAt: now,
                                                  backoff: configuration.statusUpdateBackoff.lowerBound)
            }
        }
        var lostExecutors: [AgentExecutor] = []
        for entry in checkpoint.executors {
            let key = ExecutorKey(frameworkID: entry.frameworkID, executorID: entry.executorID)
            var executor = AgentExecutor(
                key: key, containerID: entry.containerID,
                info: (try? Agora_V1_ExecutorInfo(serializedBytes: entry.info)) ?? Agora_V1_ExecutorInfo(),
                isBuiltIn: entry.isBuiltIn, launchedAt: now)
            executor.tasks = Set(entry.tasks)
            executor.isShared = entry.isShared ?? false
            executor.queued = entry.queued.compactMap { try? Agora_V1_Executor_Event(serializedBytes: $0) }
            executor.phase = .recovering
            if liveContainers.contains(entry.containerID) {
                executors[key] = executor
            } else {
                lostExecutors.append(executor)
            }
        }
        registration = .unregistered
        nextRegistrationAt = now
        for executor in lostExecutors {
            executors[executor.key] = executor
            log("\(executor.key) ended while the agent was down")
            for taskID in executor.tasks.sorted() {
                let key = AgentTaskKey(frameworkID: executor.key.frameworkID, taskID: taskID)
                guard let task = tasks[key], !task.state.isTerminal else { continue }
                generateUpdate(key, state: .taskFailed, reason: .executorTerminated,
                               message: "the executor ended while the agent was down", now: now)
            }
            executors[executor.key] = nil
            directives.append(.destroyContainer(key: executor.key, containerID: executor.containerID, gracePeriod: .zero))
            directives.append(.scheduleSandboxRemoval(key: executor.key, containerID: executor.containerID))
        }
    }

    /// Directives produced while recovering (cleanup of containers that are gone).
    public mutating func recoveryDirectives() -> [AgentDirective] {
        takeDirectives()
    }
}
