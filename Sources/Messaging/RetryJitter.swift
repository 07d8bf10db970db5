/// Spreads retry delays so that thousands of peers that lost the same master at the
/// same moment do not retry in lockstep. Deterministic: the spread depends only on a
/// per-peer seed and the delay, so pure cores stay reproducible in tests.
public enum RetryJitter {
    /// `delay` lengthened by a fraction of itself in `[0, spread)` chosen by `seed` and `delay`.
    public static func spread(_ delay: Duration, seed: UInt64, spread: Double = 0.5) -> Duration {
        let nanoseconds = UInt64(clamping: delay.components.seconds) &* 1_000_000_000
            &+ UInt64(clamping: delay.components.attoseconds / 1_000_000_000)
        let fraction = Double(mix(seed ^ nanoseconds) >> 11) / Double(UInt64(1) << 53)
        return delay + delay * (fraction * spread)
    }

    /// A seed from text that identifies the peer (FNV-1a).
    public static func seed(_ identity: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// SplitMix64's finalizer: nearby inputs give unrelated outputs.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
