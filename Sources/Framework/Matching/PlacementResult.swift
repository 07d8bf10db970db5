/// What `OfferPacker.place` decided: where each placed task goes, why each other one
/// went nowhere, and what is left of the offers.
public struct PlacementResult: Sendable {
    /// One task placed on one offer.
    public struct Assignment: Hashable, Sendable {
        /// The task's index in the `requests` given.
        public let requestIndex: Int
        public let offerID: String
        public let agentID: String
        public let hostname: String
        /// The resources to launch with, assigned ports included.
        public let granted: GrantedResources
    }

    /// Placed tasks, by ascending `requestIndex`.
    public let assignments: [Assignment]
    /// One diagnosis per task not placed, by ascending `requestIndex`.
    public let unplaced: [PlacementDiagnosis]
    /// The offers with the assigned resources taken out, in the order given; pass
    /// them to another `place` call to pack more into what is left.
    public let offers: [OfferResources]

    /// The assignment of request `index`, if it was placed.
    public func assignment(forRequest index: Int) -> Assignment? {
        assignments.first { $0.requestIndex == index }
    }

    /// The diagnosis of request `index`, if it was not placed.
    public func diagnosis(forRequest index: Int) -> PlacementDiagnosis? {
        unplaced.first { $0.requestIndex == index }
    }
}

/// Why a task was not placed: for every offer, everything that kept it out.
public struct PlacementDiagnosis: Hashable, Sendable, CustomStringConvertible {
    /// One offer's reasons.
    public struct OfferRejection: Hashable, Sendable, CustomStringConvertible {
        public let offerID: String
        public let hostname: String
        /// Never empty: resource shortfalls first, then failed constraints.
        public let rejections: [Rejection]

        /// `o-1 (a.example): mem: needs 512, offer has 256 left; …`
        public var description: String {
            "\(offerID) (\(hostname)): " + rejections.map(\.description).joined(separator: "; ")
        }
    }

    public let requestIndex: Int
    /// In the order the offers were given; resources are what was left when the task's turn came.
    public let offers: [OfferRejection]

    /// Marathon-style: `offers: 3 total; 2 short of mem, 1 rejected by constraint hostname:UNIQUE`.
    ///
    /// An offer counts once under each distinct category it failed, so the counts may
    /// add up to more than the total. Most frequent first, then alphabetical.
    public var summary: String {
        var counts: [String: Int] = [:]
        for offer in offers {
            for category in Set(offer.rejections.map(\.category)) { counts[category, default: 0] += 1 }
        }
        let head = "offers: \(offers.count) total"
        guard !counts.isEmpty else { return head }
        let parts = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.value) \($0.key)" }
        return head + "; " + parts.joined(separator: ", ")
    }

    /// The summary, then one line per offer.
    public var description: String {
        ([summary] + offers.map { "  " + $0.description }).joined(separator: "\n")
    }
}
