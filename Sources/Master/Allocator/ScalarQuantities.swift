import Resources

/// Scalar amounts by resource name, whatever the reservation: what shares are computed from.
struct ScalarQuantities: Equatable, Sendable {
    private(set) var amounts: [String: Scalar] = [:]

    init() {}

    init(_ resources: Resources) {
        amounts = resources.scalarTotals.filter { $0.value > .zero }
    }

    var isEmpty: Bool { amounts.isEmpty }

    static func += (lhs: inout ScalarQuantities, rhs: ScalarQuantities) {
        for (name, amount) in rhs.amounts {
            let sum = lhs.amounts[name, default: .zero] + amount
            lhs.amounts[name] = sum.isZero ? nil : sum
        }
    }

    static func -= (lhs: inout ScalarQuantities, rhs: ScalarQuantities) {
        for (name, amount) in rhs.amounts {
            let difference = lhs.amounts[name, default: .zero] - amount
            lhs.amounts[name] = difference.isZero ? nil : difference
        }
    }

    /// The largest fraction of `total` held in any one resource; resources absent
    /// from `total` do not count.
    func dominantShare(of total: ScalarQuantities) -> Double {
        var share = 0.0
        for (name, amount) in amounts {
            guard let available = total.amounts[name], available > .zero else { continue }
            share = max(share, Double(amount.thousandths) / Double(available.thousandths))
        }
        return share
    }
}
