extension Duration {
    /// This duration in (fractional) seconds.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// `value` seconds, to the millisecond.
    public static func seconds(fractional value: Double) -> Duration {
        .milliseconds(Int64((value * 1_000).rounded()))
    }
}
