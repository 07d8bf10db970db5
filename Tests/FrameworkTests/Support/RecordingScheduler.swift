import AgoraProto
import Foundation
import Framework
import Synchronization

/// A scheduler that records every callback for the test to await.
final class RecordingScheduler: Scheduler {
    enum Callback: Sendable {
        case subscribed(frameworkID: String, masterID: String)
        case offers([Agora_V1_Offer])
        case rescinded(offerID: String)
        case update(Agora_V1_TaskStatus)
        case message(agentID: String, executorID: String, data: Data)
        case agentLost(agentID: String)
        case executorLost(executorID: String, agentID: String, status: Int32)
        case disconnected
        case error(String)
    }

    let callbacks = Mailbox<Callback>()

    func subscribed(_ driver: SchedulerDriver, frameworkID: String, masterInfo: Agora_V1_MasterInfo) async {
        await callbacks.put(.subscribed(frameworkID: frameworkID, masterID: masterInfo.id))
    }

    func resourceOffers(_ driver: SchedulerDriver, offers: [Agora_V1_Offer]) async {
        await callbacks.put(.offers(offers))
    }

    func offerRescinded(_ driver: SchedulerDriver, offerID: String) async {
        await callbacks.put(.rescinded(offerID: offerID))
    }

    func statusUpdate(_ driver: SchedulerDriver, status: Agora_V1_TaskStatus) async {
        await callbacks.put(.update(status))
    }

    func frameworkMessage(_ driver: SchedulerDriver, agentID: String, executorID: String, data: Data) async {
        await callbacks.put(.message(agentID: agentID, executorID: executorID, data: data))
    }

    func agentLost(_ driver: SchedulerDriver, agentID: String) async {
        await callbacks.put(.agentLost(agentID: agentID))
    }

    func executorLost(_ driver: SchedulerDriver, executorID: String, agentID: String, status: Int32) async {
        await callbacks.put(.executorLost(executorID: executorID, agentID: agentID, status: status))
    }

    func disconnected(_ driver: SchedulerDriver) async {
        await callbacks.put(.disconnected)
    }

    func error(_ driver: SchedulerDriver, message: String) async {
        await callbacks.put(.error(message))
    }
}

/// A `FrameworkIDStore` in memory.
final class InMemoryFrameworkIDStore: FrameworkIDStore {
    private let stored: Mutex<Agora_V1_FrameworkID?>

    init(_ id: String? = nil) {
        var initial: Agora_V1_FrameworkID?
        if let id {
            initial = Agora_V1_FrameworkID()
            initial?.value = id
        }
        stored = Mutex(initial)
    }

    var value: String? { stored.withLock { $0?.value } }

    func load() throws -> Agora_V1_FrameworkID? { stored.withLock { $0 } }
    func save(_ id: Agora_V1_FrameworkID) throws { stored.withLock { $0 = id } }
    func clear() throws { stored.withLock { $0 = nil } }
}

extension RecordingScheduler.Callback {
    var subscribedID: String? {
        if case .subscribed(let id, _) = self { return id }
        return nil
    }

    var offers: [Agora_V1_Offer]? {
        if case .offers(let offers) = self { return offers }
        return nil
    }

    var status: Agora_V1_TaskStatus? {
        if case .update(let status) = self { return status }
        return nil
    }

    var isDisconnected: Bool {
        if case .disconnected = self { return true }
        return false
    }

    var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
