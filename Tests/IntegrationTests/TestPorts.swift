import Synchronization

/// Port ranges for the agents of test clusters that run at the same time: each call
/// hands out a block no other cluster of this test process has, so the tasks of two
/// tests never bind the same port (they did: every cluster offered 31000–31199, and
/// parallel Marathon tests failed with "Address already in use").
enum TestPorts {
    static let blockSize = 100
    /// Blocks start here and stay below Linux' ephemeral range (32768 and up), where the
    /// daemons' own port-0 listeners land.
    static let firstPort = 20_000
    static let blockCount = 127

    private static let handedOut = Atomic<Int>(0)

    /// A block of `blockSize` ports not handed out before (until all have been, then
    /// the first again).
    static func block() -> ClosedRange<Int> {
        let index = handedOut.add(1, ordering: .relaxed).oldValue % blockCount
        let low = firstPort + index * blockSize
        return low...(low + blockSize - 1)
    }

    /// The block as an Agora ports resource, `ports:[low-high]`.
    static func resource(_ block: ClosedRange<Int>) -> String {
        "ports:[\(block.lowerBound)-\(block.upperBound)]"
    }
}
