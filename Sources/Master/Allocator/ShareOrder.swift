/// Members sorted by a cached share, ascending, ties broken by ID: one level of the DRF sorter.
///
/// Members are known by a small integer key (a framework's or a role's index in the
/// allocator) and carry their ID for the tie-break. Stored as a list of small sorted
/// chunks, so moving one member after its share changed costs O(√n) rather than
/// shifting the whole array.
struct ShareOrder: Sendable, Sequence {
    struct Entry: Comparable, Sendable {
        var share: Double
        var id: String
        var key: Int

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            lhs.share != rhs.share ? lhs.share < rhs.share : lhs.id < rhs.id
        }

        static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.key == rhs.key && lhs.share == rhs.share
        }
    }

    private static let chunkCapacity = 128
    private var chunks: [[Entry]] = []
    /// Each member's cached share and ID, by key.
    private var members: [Int: (share: Double, id: String)] = [:]

    var isEmpty: Bool { members.isEmpty }

    func makeIterator() -> FlattenSequence<[[Entry]]>.Iterator {
        chunks.joined().makeIterator()
    }

    /// Inserts the member `key` named `id`, or moves it if its share changed.
    mutating func set(_ key: Int, id: String, share: Double) {
        if let old = members.updateValue((share, id), forKey: key) {
            guard old.share != share else { return }
            removeEntry(Entry(share: old.share, id: old.id, key: key))
        }
        insertEntry(Entry(share: share, id: id, key: key))
    }

    /// Moves the member `key` if it is present and its share changed.
    mutating func update(_ key: Int, share: Double) {
        guard let index = members.index(forKey: key) else { return }
        let old = members.values[index]
        guard old.share != share else { return }
        members.values[index].share = share
        removeEntry(Entry(share: old.share, id: old.id, key: key))
        insertEntry(Entry(share: share, id: old.id, key: key))
    }

    mutating func remove(_ key: Int) {
        guard let old = members.removeValue(forKey: key) else { return }
        removeEntry(Entry(share: old.share, id: old.id, key: key))
    }

    /// Recomputes every share from the member's key (after the cluster total or the
    /// weights changed) and re-sorts.
    mutating func rebuild(_ share: (Int) -> Double) {
        let entries = members.map { Entry(share: share($0.key), id: $0.value.id, key: $0.key) }.sorted()
        members = Dictionary(uniqueKeysWithValues: entries.map { ($0.key, ($0.share, $0.id)) })
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
