import Resources

/// Scalar resource names numbered in the order first seen, so that quantities are
/// small arrays indexed by name rather than dictionaries keyed by strings.
struct ScalarNames: Sendable {
    private var names: [String] = []

    var count: Int { names.count }

    /// The number of `name`, assigning the next one on first sight. Clusters have a
    /// handful of names, so a scan of equal-length small strings beats hashing.
    mutating func index(of name: String) -> Int {
        if let index = names.firstIndex(of: name) { return index }
        names.append(name)
        return names.count - 1
    }
}

/// Scalar amounts by resource name, whatever the reservation: what shares are computed from.
struct ScalarQuantities: Sendable {
    /// Thousandths by name number (see `ScalarNames`); missing trailing names are zero.
    private var amounts: [Int64] = []

    init() {}

    init(_ resources: Resources, names: inout ScalarNames) {
        amounts = Array(repeating: 0, count: names.count)
        for resource in resources {
            guard case .scalar(let value) = resource.value else { continue }
            let index = names.index(of: resource.name)
            // A new name is numbered `names.count`, one past the end.
            if index == amounts.count { amounts.append(0) }
            amounts[index] += value.thousandths
        }
    }

    var isEmpty: Bool { amounts.allSatisfy { $0 == 0 } }

    static func += (lhs: inout ScalarQuantities, rhs: ScalarQuantities) {
        while lhs.amounts.count < rhs.amounts.count { lhs.amounts.append(0) }
        for index in rhs.amounts.indices { lhs.amounts[index] += rhs.amounts[index] }
    }

    static func -= (lhs: inout ScalarQuantities, rhs: ScalarQuantities) {
        while lhs.amounts.count < rhs.amounts.count { lhs.amounts.append(0) }
        for index in rhs.amounts.indices { lhs.amounts[index] -= rhs.amounts[index] }
    }

    /// The largest fraction of `total` held in any one resource; resources absent
    /// from `total` do not count.
    func dominantShare(of total: ScalarQuantities) -> Double {
        var share = 0.0
        for index in 0..<Swift.min(amounts.count, total.amounts.count) where amounts[index] != 0 {
            let available = total.amounts[index]
            guard available > 0 else { continue }
            share = Swift.max(share, Double(amounts[index]) / Double(available))
        }
        return share
    }
}
