import Resources

/// Where an instance runs or could run: an agent's hostname and attributes, the two
/// things constraints look at.
public struct AgentLocation: Hashable, Sendable {
    public var hostname: String
    public var attributes: Attributes

    public init(hostname: String, attributes: Attributes = Attributes()) {
        self.hostname = hostname
        self.attributes = attributes
    }

    /// The offer's agent.
    public init(_ offer: OfferResources) {
        self.init(hostname: offer.hostname, attributes: offer.attributes)
    }
}
