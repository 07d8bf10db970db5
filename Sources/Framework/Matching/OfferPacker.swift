import AgoraProto
import Resources

/// Packs tasks into offers: pure bookkeeping, no I/O.
///
/// Tasks are placed one at a time, in the order given. For each, every offer is
/// checked for room (scalars and ports, of the task's role) and against the task's
/// constraints, counting `existing` instances and those placed earlier in the same
/// call; the strategy picks among the offers that pass. A task no offer takes gets a
/// diagnosis listing, per offer, every shortfall and failed constraint.
///
/// All `requests` of one call are treated as instances of one application: their
/// constraints see each other. Place different applications in separate calls,
/// passing `PlacementResult.offers` on so they share what is left.
public enum OfferPacker {
    /// Places as many `requests` as fit in `offers`.
    ///
    /// - Parameters:
    ///   - existing: where instances of the application already run.
    ///   - strategy: how to choose when several offers fit.
    public static func place(
        requests: [TaskRequest], offers: [OfferResources], existing: [AgentLocation] = [],
        strategy: PackingStrategy = .firstFit
    ) -> PlacementResult {
        var offers = offers
        var placed = existing
        var assignments: [PlacementResult.Assignment] = []
        var unplaced: [PlacementDiagnosis] = []
        let scales = Self.scales(of: offers)

        for (index, request) in requests.enumerated() {
            let rejections = self.rejections(of: request, by: offers, existing: placed)
            let fitting = offers.indices.filter { rejections[$0].isEmpty }
            let ordered: [Int] = switch strategy {
            case .firstFit:
                fitting
            case .bestFit:
                fitting.map { (index: $0, score: leftover(offers[$0], after: request.resources, scales: scales)) }
                    .sorted { $0.score != $1.score ? $0.score < $1.score : $0.index < $1.index }
                    .map(\.index)
            }
            var assigned = false
            for offerIndex in ordered {
                guard let granted = offers[offerIndex].take(request.resources) else { continue }
                let offer = offers[offerIndex]
                assignments.append(PlacementResult.Assignment(
                    requestIndex: index, offerID: offer.offerID, agentID: offer.agentID,
                    hostname: offer.hostname, granted: granted))
                placed.append(AgentLocation(offer))
                assigned = true
                break
            }
            if !assigned {
                unplaced.append(PlacementDiagnosis(
                    requestIndex: index,
                    offers: offers.indices.map { offerIndex in
                        PlacementDiagnosis.OfferRejection(offerID: offers[offerIndex].offerID,
                                                          hostname: offers[offerIndex].hostname,
                                                          rejections: rejections[offerIndex])
                    }))
            }
        }
        return PlacementResult(assignments: assignments, unplaced: unplaced, offers: offers)
    }

    /// Places as many `requests` as fit in one offer.
    public static func place(requests: [TaskRequest], in offer: OfferResources,
                             existing: [AgentLocation] = []) -> PlacementResult {
        place(requests: requests, offers: [offer], existing: existing, strategy: .firstFit)
    }

    /// `place(requests:offers:existing:strategy:)` on offers as received.
    ///
    /// - Throws: `ResourceConversionError` when an offer carries an invalid resource or attribute.
    public static func place(
        requests: [TaskRequest], offers: [Agora_V1_Offer], existing: [AgentLocation] = [],
        strategy: PackingStrategy = .firstFit
    ) throws(ResourceConversionError) -> PlacementResult {
        var converted: [OfferResources] = []
        for offer in offers { converted.append(try OfferResources(offer)) }
        return place(requests: requests, offers: converted, existing: existing, strategy: strategy)
    }

    /// Per offer, everything that keeps `request` out of it; empty when it fits.
    ///
    /// GROUP_BY without a count is checked last, against the offers that pass
    /// everything else (see `Constraint.evaluate`).
    static func rejections(of request: TaskRequest, by offers: [OfferResources],
                           existing: [AgentLocation]) -> [[Rejection]] {
        let isOpenGroupBy: (Constraint) -> Bool = { $0.operator == .groupBy(nil) }
        var rejections = offers.map { offer in
            var found = offer.shortfalls(for: request.resources)
            for constraint in request.constraints where !isOpenGroupBy(constraint) {
                if case .rejected(let reason) = constraint.evaluate(offer, existing: existing) {
                    found.append(.constraint(constraint, reason: reason))
                }
            }
            return found
        }
        let candidates = offers.indices.filter { rejections[$0].isEmpty }.map { AgentLocation(offers[$0]) }
        for constraint in request.constraints where isOpenGroupBy(constraint) {
            for offerIndex in offers.indices {
                let verdict = constraint.evaluate(offers[offerIndex], existing: existing, candidates: candidates)
                if case .rejected(let reason) = verdict {
                    rejections[offerIndex].append(.constraint(constraint, reason: reason))
                }
            }
        }
        return rejections
    }

    private static let dimensions = ["cpus", "mem", "disk", "gpus"]

    /// The largest amount of each resource (ports last) any offer had, as the unit of best-fit scores.
    private static func scales(of offers: [OfferResources]) -> [Double] {
        var scales = dimensions.map { name in offers.map { $0.total.scalar(named: name).doubleValue }.max() ?? 0 }
        scales.append(offers.map { Double($0.total.ports.count) }.max() ?? 0)
        return scales
    }

    /// How much `offer` would have left after taking `request`, in units of `scales`.
    private static func leftover(_ offer: OfferResources, after request: ResourceRequest, scales: [Double]) -> Double {
        var amounts = dimensions.map { offer.remaining.scalar(named: $0).doubleValue }
        amounts.append(Double(offer.remaining.ports.count))
        let needs = request.scalars.map(\.amount.doubleValue) + [Double(request.totalPortCount)]
        return zip(zip(amounts, needs), scales).reduce(0) { score, item in
            let ((amount, need), scale) = item
            return scale > 0 ? score + (amount - need) / scale : score
        }
    }
}
