/// IDs sorted by a cached share, ascending, ties broken by ID: one level of the DRF sorter.
///
/// Stored as a list of small sorted chunks, so moving one ID after its share changed
/// costs O(√n) rather than shifting the whole array.
struct ShareOrder: Sendable, Sequence {
    struct Entry: Comparable, Sendable {
        var share: Double
        var id: String

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            lhs.share != rhs.share ? lhs.share < rhs.share : lhs.id < rhs.id
        }
    }

    private static let chunkCapacity = 128
    private var chunks: [[Entry]] = []
    private var shares: [String: Double] = [:]

    var isEmpty: Bool { shares.isEmpty }
    var count: Int { shares.count }

    func contains(_ id: String) -> Bool { shares[id] != nil }

    /// The cached share of `id`, if present.
    func share(of id: String) -> Double? { shares[id] }

    func makeIterator() -> FlattenSequence<[[Entry]]>.Iterator {
        chunks.joined().makeIterator()
    }

    /// Inserts `id`, or moves it if its share changed.
    mutating func set(_ id: String, share: Double) {
        if let old = shares[id] {
            guard old != share else { return }
            removeEntry(Entry(share: old, id: id))
        }
        shares[id] = share
        insertEntry(Entry(share: share, id: id))
    }

    mutating func remove(_ id: String) {
        guard let old = shares.removeValue(forKey: id) else { return }
        removeEntry(Entry(share: old, id: id))
    }

    /// Recomputes every share (after the cluster total or the weights changed) and re-sorts.
    mutating func rebuild(_ share: (String) -> Double) {
        let entries = shares.keys.map { Entry(share: share($0), id: $0) }.sorted()
        shares = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0.share) })
        let half = Self.chunkCapacity / 2
        chunks = stride(from: 0, to: entries.count, by: half).map {
            Array(entries[$0..<Swift.min($0 + half, entries.count)])
        }
    }

    /// The first chunk whose last entry is not less than `entry`, or `chunks.count`.
    private func chunkIndex(for entry: Entry) -> Int {
        var low = 0, high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if chunks[middle][chunks[middle].count - 1] < entry { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func lowerBound(of entry: Entry, in chunk: [Entry]) -> Int {
        var low = 0, high = chunk.count
        while low < high {
            let middle = (low + high) / 2
            if chunk[middle] < entry { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func insertEntry(_ entry: Entry) {
        guard !chunks.isEmpty else {
            chunks = [[entry]]
            return
        }
        let chunk = Swift.min(chunkIndex(for: entry), chunks.count - 1)
        chunks[chunk].insert(entry, at: Self.lowerBound(of: entry, in: chunks[chunk]))
        if chunks[chunk].count > Self.chunkCapacity {
            let half = chunks[chunk].count / 2
            let tail = Array(chunks[chunk][half...])
            chunks[chunk].removeSubrange(half...)
            chunks.insert(tail, at: chunk + 1)
        }
    }

    private mutating func removeEntry(_ entry: Entry) {
        let chunk = chunkIndex(for: entry)
        let index = Self.lowerBound(of: entry, in: chunks[chunk])
        precondition(chunks[chunk][index] == entry, "share order out of sync")
        chunks[chunk].remove(at: index)
        if chunks[chunk].isEmpty {
            chunks.remove(at: chunk)
        } else if chunks[chunk].count < Self.chunkCapacity / 4, chunk + 1 < chunks.count,
            chunks[chunk].count + chunks[chunk + 1].count <= Self.chunkCapacity
        {
            chunks[chunk].append(contentsOf: chunks[chunk + 1])
            chunks.remove(at: chunk + 1)
        }
    }
}
