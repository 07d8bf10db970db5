import Resources

/// What a task received from an offer: its resources, with the ports assigned to it
/// inside `resources` as well as listed in `ports`.
public struct GrantedResources: Hashable, Sendable {
    /// Everything the task uses, ports included; put this in its `TaskInfo`.
    public let resources: Resources
    /// The assigned host ports: required ones first, in the order asked, then picked ones ascending.
    public let ports: [UInt64]

    public init(resources: Resources, ports: [UInt64]) {
        self.resources = resources
        self.ports = ports
    }
}
