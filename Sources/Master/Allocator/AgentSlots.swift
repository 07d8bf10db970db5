/// Small integer slots for agents, and a bit set over them: the agents a cycle visits,
/// kept in a deterministic order without scanning agents that have nothing to offer.
struct AgentSlots: Sendable {
    private(set) var ids: [AgentID?] = []
    private var vacant: [Int] = []
    private var words: [UInt64] = []
    private(set) var markedCount = 0

    /// A slot for `id`, reusing vacated ones so the bit set stays dense.
    mutating func assign(_ id: AgentID) -> Int {
        if let slot = vacant.popLast() {
            ids[slot] = id
            return slot
        }
        ids.append(id)
        if ids.count > words.count * 64 { words.append(0) }
        return ids.count - 1
    }

    mutating func release(_ slot: Int) {
        unmark(slot)
        ids[slot] = nil
        vacant.append(slot)
    }

    func isMarked(_ slot: Int) -> Bool {
        words[slot / 64] & (1 << UInt64(slot % 64)) != 0
    }

    mutating func mark(_ slot: Int) {
        guard !isMarked(slot) else { return }
        words[slot / 64] |= 1 << UInt64(slot % 64)
        markedCount += 1
    }

    mutating func unmark(_ slot: Int) {
        guard isMarked(slot) else { return }
        words[slot / 64] &= ~(1 << UInt64(slot % 64))
        markedCount -= 1
    }

    /// The marked slots, ascending.
    var marked: [Int] {
        var slots: [Int] = []
        slots.reserveCapacity(markedCount)
        for (index, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                slots.append(index * 64 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return slots
    }
}

/// SplitMix64: a small seeded generator for the per-cycle agent shuffle.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
