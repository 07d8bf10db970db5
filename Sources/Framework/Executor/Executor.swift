import AgoraProto
import Foundation

/// A framework's custom executor: the callbacks an `ExecutorDriver` makes as events
/// arrive from the agent that started this process.
///
/// The driver calls one callback at a time, in the order the events arrived, and
/// waits for it to return before the next; acknowledgements, retries and
/// re-subscription go on meanwhile, so a callback may take its time and may call the
/// driver (`sendStatusUpdate`, `stop`, …). Report every task's progress with
/// `ExecutorDriver.sendStatusUpdate`, at least TASK_RUNNING and a terminal state.
/// Only `launchTask` and `killTask` must be implemented.
public protocol Executor: Sendable {
    /// The agent accepted the executor's first subscription; here is its context.
    func registered(_ driver: ExecutorDriver, executorInfo: Agora_V1_ExecutorInfo,
                    frameworkInfo: Agora_V1_FrameworkInfo, agentInfo: Agora_V1_AgentInfo) async

    /// The executor subscribed again after losing its agent (connection dropped, or
    /// the agent restarted). Unacknowledged status updates have been sent again.
    func reregistered(_ driver: ExecutorDriver, agentInfo: Agora_V1_AgentInfo) async

    /// Start `task`, then report TASK_RUNNING (or TASK_FAILED) with `sendStatusUpdate`.
    func launchTask(_ driver: ExecutorDriver, task: Agora_V1_TaskInfo) async

    /// Start `tasks` as one group: if one fails the others should be killed. By
    /// default each is launched with `launchTask`, in order.
    func launchTaskGroup(_ driver: ExecutorDriver, tasks: [Agora_V1_TaskInfo]) async

    /// Kill a task and report TASK_KILLED (after TASK_KILLING if it takes a while).
    /// `killPolicy`, when given, replaces the task's own grace period.
    func killTask(_ driver: ExecutorDriver, taskID: String, killPolicy: Agora_V1_KillPolicy?) async

    /// Data the scheduler sent (best effort, no delivery guarantee).
    func frameworkMessage(_ driver: ExecutorDriver, data: Data) async

    /// The agent asks the executor to end (framework removed, agent shutting down, or
    /// the agent lost for longer than the recovery timeout): kill every task, report
    /// their terminal states, then call `driver.stop()`, which waits for those updates
    /// to be acknowledged. The agent destroys the container after its grace period in
    /// any case. By default only stops the driver.
    func shutdown(_ driver: ExecutorDriver) async

    /// The agent reported an error (for example an update for a task it does not know).
    /// The driver keeps running.
    func error(_ driver: ExecutorDriver, message: String) async

    /// The connection to the agent was lost. The driver re-subscribes by itself when the
    /// agent is back (`reregistered`); tasks keep running meanwhile and status updates
    /// are kept until the agent acknowledges them.
    func disconnected(_ driver: ExecutorDriver) async
}

extension Executor {
    public func registered(_ driver: ExecutorDriver, executorInfo: Agora_V1_ExecutorInfo,
                           frameworkInfo: Agora_V1_FrameworkInfo, agentInfo: Agora_V1_AgentInfo) async {}
    public func reregistered(_ driver: ExecutorDriver, agentInfo: Agora_V1_AgentInfo) async {}

    public func launchTaskGroup(_ driver: ExecutorDriver, tasks: [Agora_V1_TaskInfo]) async {
        for task in tasks { await launchTask(driver, task: task) }
    }

    public func frameworkMessage(_ driver: ExecutorDriver, data: Data) async {}
    public func shutdown(_ driver: ExecutorDriver) async { await driver.stop() }
    public func error(_ driver: ExecutorDriver, message: String) async {}
    public func disconnected(_ driver: ExecutorDriver) async {}
}
