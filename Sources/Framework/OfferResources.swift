import AgoraProto
import Resources

/// An offer's resources as `Resources`, and what is left of them as tasks are placed
/// on it — the bookkeeping of a scheduler that packs several tasks into one offer.
///
/// ```swift
/// var offered = try OfferResources(offer)
/// let need = try Resources(parsing: "cpus:0.1;mem:32")
/// while offered.take(need) { tasks.append(.command(id: …, resources: need, agentID: offered.agentID)) }
/// ```
public struct OfferResources: Sendable {
    /// The offer as received.
    public let offer: Agora_V1_Offer
    /// Everything offered.
    public let total: Resources
    /// The offering agent's attributes.
    public let attributes: Attributes
    /// What `take` has not handed out yet.
    public private(set) var remaining: Resources

    /// Reads `offer.resources` and `offer.attributes`.
    ///
    /// - Throws: `ResourceConversionError` when the offer carries an invalid resource or attribute.
    public init(_ offer: Agora_V1_Offer) throws(ResourceConversionError) {
        self.offer = offer
        self.total = try Resources(proto: offer.resources)
        self.attributes = try Attributes(proto: offer.attributes)
        self.remaining = total
    }

    public var offerID: String { offer.id.value }
    public var agentID: String { offer.agentID.value }
    public var hostname: String { offer.hostname }

    /// Whether `resources` fit in what is left.
    public func fits(_ resources: Resources) -> Bool {
        remaining.contains(resources)
    }

    /// Sets `resources` aside if they fit; returns whether they did.
    public mutating func take(_ resources: Resources) -> Bool {
        guard fits(resources) else { return false }
        remaining -= resources
        return true
    }
}
