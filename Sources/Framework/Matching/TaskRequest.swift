/// One task to place: the resources it needs and the constraints its agent must meet.
public struct TaskRequest: Hashable, Sendable {
    public var resources: ResourceRequest
    public var constraints: [Constraint]

    public init(_ resources: ResourceRequest, constraints: [Constraint] = []) {
        self.resources = resources
        self.constraints = constraints
    }
}
