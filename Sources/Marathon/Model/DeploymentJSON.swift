/// A running deployment as GET `/v2/deployments` lists it.
public struct DeploymentJSON: Sendable, Hashable, Codable {
    public var id: String
    /// The version of the target state.
    public var version: MarathonTimestamp
    public var affectedApps: [PathID]
    public var affectedPods: [PathID]
    public var steps: [DeploymentStepJSON]
    /// What the current step is doing, per app.
    public var currentActions: [DeploymentCurrentActionJSON]
    /// 1-based; 0 before the first step starts.
    public var currentStep: Int
    public var totalSteps: Int

    public init(id: String, version: MarathonTimestamp, affectedApps: [PathID], affectedPods: [PathID] = [],
                steps: [DeploymentStepJSON], currentActions: [DeploymentCurrentActionJSON], currentStep: Int) {
        self.id = id
        self.version = version
        self.affectedApps = affectedApps
        self.affectedPods = affectedPods
        self.steps = steps
        self.currentActions = currentActions
        self.currentStep = currentStep
        self.totalSteps = steps.count
    }
}

/// What a deployment step does to one app.
public enum DeploymentActionKind: String, Sendable, Hashable, Codable, CaseIterable {
    case startApplication = "StartApplication"
    case stopApplication = "StopApplication"
    case scaleApplication = "ScaleApplication"
    case restartApplication = "RestartApplication"
}

/// `{action, app}`.
public struct DeploymentActionJSON: Sendable, Hashable, Codable {
    public var action: DeploymentActionKind
    public var app: PathID

    public init(action: DeploymentActionKind, app: PathID) {
        self.action = action
        self.app = app
    }
}

/// `{actions: [...]}`, the actions of one step, run in parallel.
public struct DeploymentStepJSON: Sendable, Hashable, Codable {
    public var actions: [DeploymentActionJSON]

    public init(actions: [DeploymentActionJSON]) { self.actions = actions }
}

/// `{action, app, readinessCheckResults}` of the step in progress.
public struct DeploymentCurrentActionJSON: Sendable, Hashable, Codable {
    public var action: DeploymentActionKind
    public var app: PathID
    public var readinessCheckResults: [ReadinessCheckResultJSON]

    public init(action: DeploymentActionKind, app: PathID, readinessCheckResults: [ReadinessCheckResultJSON] = []) {
        self.action = action
        self.app = app
        self.readinessCheckResults = readinessCheckResults
    }
}

/// `{version, deploymentId}`: the answer to a change that started a deployment
/// (also sent as the `Marathon-Deployment-Id` header).
public struct DeploymentResult: Sendable, Hashable, Codable {
    public var version: MarathonTimestamp
    public var deploymentId: String

    public init(version: MarathonTimestamp, deploymentId: String) {
        self.version = version
        self.deploymentId = deploymentId
    }
}

/// A deployment plan as events carry it: ids, the root group before and after, and the
/// steps. The Python client needs all of `original`, `target` and `steps`.
public struct DeploymentPlanJSON: Sendable, Hashable, Codable {
    public var id: String
    public var version: MarathonTimestamp
    public var original: GroupJSON
    public var target: GroupJSON
    public var steps: [DeploymentStepJSON]

    public init(id: String, version: MarathonTimestamp, original: GroupJSON, target: GroupJSON,
                steps: [DeploymentStepJSON]) {
        self.id = id
        self.version = version
        self.original = original
        self.target = target
        self.steps = steps
    }
}

/// A group of apps (Agora keeps all apps in the root group `/`).
public struct GroupJSON: Sendable, Hashable, Codable {
    public var id: PathID
    public var apps: [AppDefinition]
    public var groups: [GroupJSON]
    public var pods: [MarathonJSON]
    public var dependencies: [PathID]
    public var version: MarathonTimestamp

    public init(id: PathID = .root, apps: [AppDefinition], groups: [GroupJSON] = [], dependencies: [PathID] = [],
                version: MarathonTimestamp) {
        self.id = id
        self.apps = apps
        self.groups = groups
        self.pods = []
        self.dependencies = dependencies
        self.version = version
    }
}
