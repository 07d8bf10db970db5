import AgoraProto
import Foundation

/// The core's events as Marathon's event stream carries them.
extension MarathonService {
    func publish(_ event: CoreEvent) {
        switch event {
        case .statusUpdate(let instance, let message):
            emit(.statusUpdate(.init(
                slaveId: instance.agentID, taskId: instance.taskID, taskStatus: instance.state.name,
                message: message ?? "", appId: PathID(instance.appID), host: instance.hostname,
                ports: instance.ports.map { Int($0) }, version: Self.version(instance.appVersion))))
        case .deploymentInfo(let deployment):
            emit(.deploymentInfo(plan: plan(deployment), currentStep: step(deployment)))
        case .deploymentSuccess(let deployment):
            emit(.deploymentSuccess(plan: plan(deployment)))
        case .deploymentFailed(let deployment):
            emit(.deploymentFailed(plan: plan(deployment), reason: deployment.reason))
        case .deploymentStepSuccess(let deployment):
            emit(.deploymentStepSuccess(plan: plan(deployment), currentStep: step(deployment)))
        case .healthChanged(let instance, let alive):
            emit(.healthStatusChanged(appId: PathID(instance.appID), taskId: instance.taskID,
                                      instanceId: Self.instanceID(instance), version: Self.version(instance.appVersion),
                                      alive: alive))
        case .unhealthyKill(let instance, let reason):
            emit(.unhealthyTaskKill(appId: PathID(instance.appID), taskId: instance.taskID,
                                    instanceId: Self.instanceID(instance), version: Self.version(instance.appVersion),
                                    reason: reason, host: instance.hostname, slaveId: instance.agentID))
        case .appTerminated(let appID):
            emit(.appTerminated(appId: PathID(appID)))
        }
    }

    func publishAPIPost(uri: String, appID: String) {
        guard let app = core.apps[appID]?.definition else { return }
        emit(.apiPost(clientIp: "", uri: uri, appDefinition: app))
    }

    /// The first frame of every event stream.
    func attachedEventFrame(remoteAddress: String) -> EventBus.Frame {
        frame(.eventStreamAttached(remoteAddress: remoteAddress))
    }

    private func emit(_ event: MarathonEvent) {
        events.publish(frame(event))
    }

    private func frame(_ event: MarathonEvent) -> EventBus.Frame {
        EventBus.Frame(type: event.eventType, json: event.json(at: MarathonTimestamp(Date())).serialized)
    }

    /// A deployment plan as events carry it: the app before and after, and the steps.
    private func plan(_ deployment: Deployment) -> DeploymentPlanJSON {
        let version = Self.version(deployment.version)
        return DeploymentPlanJSON(
            id: deployment.id, version: version,
            original: GroupJSON(apps: deployment.original.map { [$0] } ?? [], version: version),
            target: GroupJSON(apps: deployment.target.map { [$0] } ?? [], version: version),
            steps: Self.steps(deployment))
    }

    private func step(_ deployment: Deployment) -> DeploymentStepJSON {
        DeploymentStepJSON(actions: [DeploymentActionJSON(action: deployment.currentAction,
                                                          app: PathID(deployment.appID))])
    }

    static func steps(_ deployment: Deployment) -> [DeploymentStepJSON] {
        deployment.steps.map { DeploymentStepJSON(actions: [DeploymentActionJSON(action: $0, app: PathID(deployment.appID))]) }
    }

    static func version(_ text: String) -> MarathonTimestamp {
        MarathonTimestamp(parsing: text) ?? MarathonTimestamp(millisecondsSince1970: 0)
    }

    static func instanceID(_ instance: Instance) -> String {
        MarathonTaskID(parsing: instance.taskID)?.instanceID ?? instance.taskID
    }
}
