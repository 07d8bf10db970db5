import AgoraProto
import Foundation

/// A framework's scheduler: the callbacks a `SchedulerDriver` makes as events arrive
/// from the master.
///
/// The driver calls one callback at a time, in the order the events arrived, and
/// waits for it to return before the next; a callback may call the driver (launch,
/// decline, `stop`, …). Only `resourceOffers` and `statusUpdate` must be implemented;
/// every other callback does nothing by default.
public protocol Scheduler: Sendable {
    /// The master accepted the subscription. Called again after every reconnection
    /// (re-subscription), which is the moment to reconcile task state.
    func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async

    /// New offers. Answer each with `launch`, `accept` or `decline`: an unanswered
    /// offer keeps its resources away from other frameworks until it is rescinded.
    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async

    /// An offer is no longer valid; operations on it will fail.
    func offerRescinded(_ driver: SchedulerDriver, offerID: String) async

    /// A task changed state. With implicit acknowledgements (the default) the driver
    /// acknowledges the update after this returns; otherwise call
    /// `SchedulerDriver.acknowledge(status:)`.
    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async

    /// Data an executor sent (best effort, no delivery guarantee).
    func frameworkMessage(_ driver: SchedulerDriver, agentID: String, executorID: String, data: Data) async

    /// An agent was lost; its tasks get their own status updates.
    func agentLost(_ driver: SchedulerDriver, agentID: String) async

    /// An executor ended; `status` is its wait status as the agent reported it.
    func executorLost(_ driver: SchedulerDriver, executorID: String, agentID: String, status: Int32) async

    /// The driver lost the master (connection dropped, heartbeats missed, or the
    /// master asked to subscribe again). It re-subscribes by itself; `subscribed` is
    /// called when that succeeds. Calls made meanwhile throw `notSubscribed`.
    func disconnected(_ driver: SchedulerDriver) async

    /// The master reported an error or refused a message. The driver keeps running;
    /// call `stop()` if the error is fatal for this framework.
    func error(_ driver: SchedulerDriver, message: String) async
}

extension Scheduler {
    public func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {}
    public func offerRescinded(_ driver: SchedulerDriver, offerID: String) async {}
    public func frameworkMessage(_ driver: SchedulerDriver, agentID: String, executorID: String, data: Data) async {}
    public func agentLost(_ driver: SchedulerDriver, agentID: String) async {}
    public func executorLost(_ driver: SchedulerDriver, executorID: String, agentID: String, status: Int32) async {}
    public func disconnected(_ driver: SchedulerDriver) async {}
    public func error(_ driver: SchedulerDriver, message: String) async {}
}
