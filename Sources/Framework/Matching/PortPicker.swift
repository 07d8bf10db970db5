import Resources

/// Chooses host ports for a task from an offer's free port ranges.
///
/// Deterministic: required ports come first, in the order asked, then the lowest
/// free ports that are not already among them. Never returns a port twice or one
/// outside `free`.
public enum PortPicker {
    /// `required` plus `count` further ports from `free`, or `nil` when a required
    /// port is not free or too few ports are left.
    public static func pick(count: Int, required: [UInt64] = [], from free: RangeSet) -> [UInt64]? {
        guard count >= 0, required.allSatisfy(free.contains) else { return nil }
        let requiredSet = RangeSet(required.map { $0...$0 })
        guard Set(required).count == required.count else { return nil }
        let rest = free.subtracting(requiredSet)
        guard UInt64(count) <= rest.count else { return nil }
        var picked = required
        picked.reserveCapacity(required.count + count)
        var wanted = count
        for range in rest.ranges where wanted > 0 {
            var port = range.lowerBound
            while wanted > 0 {
                picked.append(port)
                wanted -= 1
                if port == range.upperBound { break }
                port += 1
            }
        }
        return picked
    }

    /// The ports of `required` that are not in `free`, in the order asked.
    public static func unavailable(_ required: [UInt64], in free: RangeSet) -> [UInt64] {
        required.filter { !free.contains($0) }
    }
}
