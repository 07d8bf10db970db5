import Resources

extension Constraint {
    /// The field's value at `location`: the hostname, or the attribute's `valueText`;
    /// `nil` when the agent has no such attribute.
    public func value(at location: AgentLocation) -> String? {
        field == "hostname" ? location.hostname : location.attributes[field]?.valueText
    }

    /// Whether another instance may run at `location`.
    ///
    /// - Parameters:
    ///   - existing: where the instances this constraint governs already run or are
    ///     planned to run, one entry per instance.
    ///   - candidates: the other places that could take this instance now (offers
    ///     with room for it that pass its other constraints). Only GROUP_BY without
    ///     a count looks at them.
    ///
    /// Rules, as Marathon's, except where noted:
    /// - An agent without the attribute fails every operator but UNLIKE.
    /// - UNIQUE: no instance has the value. MAX_PER n: fewer than n instances have it.
    /// - CLUSTER v: the value is v; CLUSTER without v: the value of the existing
    ///   instances, any value when there are none.
    /// - LIKE/UNLIKE: the regex does/does not match the whole value.
    /// - IS v: the value is v (numerically, for a numeric attribute).
    /// - GROUP_BY (no count): the value's instance count is the smallest among the
    ///   values of `existing` and `candidates` and this one (values without
    ///   instances count 0), so a new value is taken before an old one. Unlike
    ///   Marathon, which looks only at values that already have instances, this does
    ///   not pile a second instance onto the only used zone while an offer from an
    ///   unused zone is at hand.
    /// - GROUP_BY n: a value without instances is always accepted; a value with
    ///   instances only once instances run on at least n values and it has the
    ///   fewest of them — Marathon's rule; `candidates` are ignored.
    public func evaluate(_ location: AgentLocation, existing: [AgentLocation],
                         candidates: [AgentLocation] = []) -> ConstraintVerdict {
        guard let value = value(at: location) else {
            if case .unlike = `operator` { return .accepted }
            return reject("the agent has no attribute \(field)")
        }
        let existingValues = existing.compactMap { self.value(at: $0) }
        switch `operator` {
        case .unique:
            guard !existingValues.contains(value) else {
                return reject("an instance already runs on \(place(value))")
            }
        case .cluster(let wanted?):
            guard value == wanted else { return reject("the offer is on \(place(value))") }
        case .cluster(nil):
            if let pinned = existingValues.first, value != pinned {
                return reject("instances run on \(place(pinned)), the offer is on \(place(value))")
            }
        case .like(let pattern):
            guard Self.wholeMatch(pattern, value) else { return reject("\(value) does not match") }
        case .unlike(let pattern):
            guard !Self.wholeMatch(pattern, value) else { return reject("\(value) matches") }
        case .is(let wanted):
            guard isEqual(value, wanted, at: location) else { return reject("the offer has \(place(value))") }
        case .maxPer(let limit):
            let count = existingValues.count(where: { $0 == value })
            guard count < limit else { return reject("\(instances(count)) already run on \(place(value))") }
        case .groupBy(let minimumValues):
            let counts = existingValues.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            let mine = counts[value] ?? 0
            var known = counts
            if let minimumValues {
                guard mine > 0 else { return .accepted }
                guard counts.count >= minimumValues else {
                    return reject("instances run on \(counts.count) of \(minimumValues) \(field) values; "
                                  + "waiting for an offer on a new one, not \(place(value))")
                }
            } else {
                for candidate in candidates {
                    if let other = self.value(at: candidate), known[other] == nil { known[other] = 0 }
                }
            }
            known[value] = mine
            let fewest = known.values.min() ?? 0
            guard mine <= fewest else {
                let emptiest = known.filter { $0.value == fewest }.keys.sorted()[0]
                return reject("\(place(value)) has \(instances(mine)), \(place(emptiest)) has \(fewest)")
            }
        }
        return .accepted
    }

    /// `evaluate(_:existing:candidates:)` at the offer's agent.
    public func evaluate(_ offer: OfferResources, existing: [AgentLocation],
                         candidates: [AgentLocation] = []) -> ConstraintVerdict {
        evaluate(AgentLocation(offer), existing: existing, candidates: candidates)
    }

    private func reject(_ detail: String) -> ConstraintVerdict {
        let shown = [field, `operator`.name] + (`operator`.value.map { [$0] } ?? [])
        return .rejected(reason: shown.joined(separator: " ") + ": " + detail)
    }

    /// `a.example` for hostnames, `rack r1` for attributes.
    private func place(_ value: String) -> String {
        field == "hostname" ? value : "\(field) \(value)"
    }

    private func instances(_ count: Int) -> String {
        count == 1 ? "1 instance" : "\(count) instances"
    }

    private func isEqual(_ value: String, _ wanted: String, at location: AgentLocation) -> Bool {
        if value == wanted { return true }
        guard field != "hostname", case .scalar(let number)? = location.attributes[field]?.value,
              let wantedNumber = Double(wanted), wantedNumber.isFinite
        else { return false }
        return number == Scalar(wantedNumber)
    }

    private static func wholeMatch(_ pattern: String, _ value: String) -> Bool {
        // Validated when the constraint was made; `Regex` is not `Sendable`, so it is not stored.
        guard let regex = try? Regex(pattern) else { return false }
        return (try? regex.wholeMatch(in: value)) != nil
    }
}
