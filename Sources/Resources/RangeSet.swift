/// A set of unsigned integers stored as sorted, disjoint, non-adjacent closed
/// intervals — the shape of port resources (`[31000-32000,33000-33010]`).
public struct RangeSet: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The intervals, sorted, with no overlaps and no two touching.
    public private(set) var ranges: [ClosedRange<UInt64>]

    public init() {
        ranges = []
    }

    /// The union of `ranges`, which may overlap or touch in any order.
    public init(_ ranges: [ClosedRange<UInt64>]) {
        self.ranges = Self.normalized(ranges)
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// How many integers the set holds.
    public var count: UInt64 {
        ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) }
    }

    public func contains(_ value: UInt64) -> Bool {
        var low = 0, high = ranges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < value {
                low = middle + 1
            } else if ranges[middle].lowerBound > value {
                high = middle - 1
            } else {
                return true
            }
        }
        return false
    }

    /// Whether every integer of `other` is in this set.
    public func contains(_ other: RangeSet) -> Bool {
        var index = 0
        for range in other.ranges {
            while index < ranges.count, ranges[index].upperBound < range.lowerBound { index += 1 }
            guard index < ranges.count,
                  ranges[index].lowerBound <= range.lowerBound,
                  ranges[index].upperBound >= range.upperBound
            else { return false }
        }
        return true
    }

    public func union(_ other: RangeSet) -> RangeSet {
        if other.isEmpty { return self }
        if isEmpty { return other }
        return RangeSet(ranges + other.ranges)
    }

    public func subtracting(_ other: RangeSet) -> RangeSet {
        guard !other.isEmpty, !isEmpty else { return self }
        var result: [ClosedRange<UInt64>] = []
        var cut = 0
        for range in ranges {
            var lower = range.lowerBound
            let upper = range.upperBound
            var remaining = true
            while cut < other.ranges.count, other.ranges[cut].upperBound < lower { cut += 1 }
            var probe = cut
            while remaining, probe < other.ranges.count, other.ranges[probe].lowerBound <= upper {
                let hole = other.ranges[probe]
                if hole.lowerBound > lower { result.append(lower...(hole.lowerBound - 1)) }
                if hole.upperBound >= upper {
                    remaining = false
                } else {
                    lower = hole.upperBound + 1
                    probe += 1
                }
            }
            if remaining { result.append(lower...upper) }
        }
        var set = RangeSet()
        set.ranges = result
        return set
    }

    /// `[31000-32000,33000-33010]`; a single value prints as `80-80`.
    public var description: String {
        "[" + ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",") + "]"
    }

    private static func normalized(_ input: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
        guard input.count > 1 else { return input }
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt64>] = [sorted[0]]
        for range in sorted.dropFirst() {
            let last = merged[merged.count - 1]
            // Merge overlapping and touching intervals ([1-2] and [3-4] become [1-4]).
            if last.upperBound == .max || range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}
