import AgoraProto
import Framework
import Resources

/// Offers and locations for the matching tests.
enum MatchingFixtures {
    /// An offer `id` from `host` with agent ID `agent-<id>`.
    static func offer(_ id: String, host: String, _ resources: String, attributes: String = "") throws -> OfferResources {
        try OfferResources(proto(id, host: host, resources, attributes: attributes))
    }

    static func proto(_ id: String, host: String, _ resources: String, attributes: String = "") throws -> Agora_V1_Offer {
        var offer = Agora_V1_Offer()
        offer.id.value = id
        offer.agentID.value = "agent-\(id)"
        offer.hostname = host
        offer.resources = try Resources(parsing: resources).proto
        if !attributes.isEmpty { offer.attributes = try Attributes(parsing: attributes).proto }
        return offer
    }

    static func location(_ host: String, _ attributes: String = "") throws -> AgentLocation {
        AgentLocation(hostname: host, attributes: attributes.isEmpty ? Attributes() : try Attributes(parsing: attributes))
    }

    static func constraint(_ parts: String...) throws -> Constraint {
        try Constraint(parsing: parts)
    }

    /// The ports of `resources` one by one.
    static func ports(of resources: Resources) -> [UInt64] {
        resources.ports.ranges.flatMap { Array($0) }
    }
}

/// A small deterministic generator (SplitMix64) so random tests repeat exactly.
struct MatchingRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: UInt64) -> UInt64 { next() % bound }
}
