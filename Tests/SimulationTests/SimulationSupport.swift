import AgoraProto
import Foundation
import Resources

/// Small builders and printers for the simulation (adapted from the core unit tests' support).
enum Wire {
    static func bag(_ text: String) -> Resources {
        // Simulation literals are known to parse.
        try! Resources(parsing: text)
    }

    static func resources(_ protos: [Agora_V1_Resource]) -> Resources {
        (try? Resources(proto: protos)) ?? Resources()
    }

    static func offerID(_ value: String) -> Agora_V1_OfferID {
        var id = Agora_V1_OfferID()
        id.value = value
        return id
    }

    static func envelope(_ call: Agora_V1_Scheduler_Call) -> Agora_V1_Envelope {
        var envelope = Agora_V1_Envelope()
        envelope.schedulerCall = call
        return envelope
    }

    static func envelope(_ call: Agora_V1_Executor_Call) -> Agora_V1_Envelope {
        var envelope = Agora_V1_Envelope()
        envelope.executorCall = call
        return envelope
    }

    static func envelope(_ event: Agora_V1_Executor_Event) -> Agora_V1_Envelope {
        var envelope = Agora_V1_Envelope()
        envelope.executorEvent = event
        return envelope
    }

    static func short(_ uuid: Data) -> String {
        uuid.prefix(3).map { String(format: "%02x", $0) }.joined()
    }

    static func state(_ state: Agora_V1_TaskState) -> String {
        String(state.name.dropFirst(5))
    }

    /// One line naming what an envelope carries, for traces.
    static func describe(_ envelope: Agora_V1_Envelope) -> String {
        switch envelope.payload {
        case .schedulerCall(let call):
            switch call.type {
            case .accept:
                let tasks = call.accept.operations.flatMap { operation in
                    operation.type == .launchGroup ? operation.launchGroup.taskGroup.tasks : operation.launch.taskInfos
                }
                return "ACCEPT \(call.accept.offerIds.map(\.value)) tasks \(tasks.map(\.taskID.value))"
            case .decline: return "DECLINE \(call.decline.offerIds.map(\.value))"
            case .acknowledge: return "ACK \(call.acknowledge.taskID.value) \(short(call.acknowledge.uuid))"
            case .kill: return "KILL \(call.kill.taskID.value)"
            case .reconcile: return "RECONCILE \(call.reconcile.tasks.map(\.taskID.value))"
            case .subscribe: return "SUBSCRIBE id=\(call.subscribe.frameworkInfo.id.value)"
            default: return "call \(call.type)"
            }
        case .schedulerEvent(let event):
            switch event.type {
            case .offers:
                return "OFFERS \(event.offers.offers.map { "\($0.id.value)@\($0.agentID.value)" })"
            case .update:
                let status = event.update.status
                return "UPDATE \(status.taskID.value) \(state(status.state))"
                    + (status.hasUuid ? " \(short(status.uuid))" : " (\(status.source), \(status.reason): \(status.message))")
            case .rescind: return "RESCIND \(event.rescind.offerID.value)"
            case .subscribed: return "SUBSCRIBED \(event.subscribed.frameworkID.value)"
            case .error: return "ERROR \(event.error.message)"
            default: return "event \(event.type)"
            }
        case .executorCall(let call):
            switch call.type {
            case .update:
                return "exec UPDATE \(call.update.status.taskID.value) \(state(call.update.status.state)) \(short(call.update.status.uuid))"
            default: return "exec \(call.type) \(call.executorID.value)"
            }
        case .executorEvent(let event):
            switch event.type {
            case .launch: return "LAUNCH \(event.launch.task.taskID.value)"
            case .launchGroup: return "LAUNCH_GROUP \(event.launchGroup.taskGroup.tasks.map(\.taskID.value))"
            case .kill: return "exec KILL \(event.kill.taskID.value)"
            case .acknowledged: return "ACKNOWLEDGED \(event.acknowledged.taskID.value) \(short(event.acknowledged.uuid))"
            default: return "exec event \(event.type)"
            }
        case .runTask(let message): return "runTask \(message.task.taskID.value)"
        case .runTaskGroup(let message): return "runTaskGroup \(message.taskGroup.tasks.map(\.taskID.value))"
        case .killTask(let message): return "killTask \(message.taskID.value)"
        case .statusUpdate(let update):
            return "statusUpdate \(update.status.taskID.value) \(state(update.status.state)) \(short(update.status.uuid))"
        case .statusUpdateAcknowledgement(let ack): return "ack \(ack.taskID.value) \(short(ack.uuid))"
        case .registerAgent: return "registerAgent"
        case .agentRegistered(let message): return "agentRegistered \(message.agentID.value)"
        case .reregisterAgent(let message):
            return "reregisterAgent \(message.agentInfo.id.value) tasks \(message.tasks.map { "\($0.taskID.value):\(state($0.state))" })"
        case .agentReregistered(let message): return "agentReregistered \(message.agentID.value)"
        case .ping(let ping): return "ping \(ping.sequence)"
        case .pong(let pong): return "pong \(pong.sequence)"
        case .refused(let refused): return "refused: \(refused.reason)"
        case .exitedExecutor(let message): return "exitedExecutor \(message.executorID.value)"
        case .shutdownFramework(let message): return "shutdownFramework \(message.frameworkID.value)"
        case .none: return "empty"
        default:
            return String(String(describing: envelope.payload!).prefix { $0 != "(" })
        }
    }
}
