/// A non-negative-or-signed quantity with exactly three decimal places.
///
/// Stored as an integer count of thousandths, so additions and subtractions are
/// exact: adding `0.1` ten times gives exactly `1`, and subtracting it again gives
/// exactly `0`. Values from doubles are rounded to the nearest thousandth, as Mesos does.
public struct Scalar: Hashable, Comparable, Sendable, Codable, AdditiveArithmetic,
    ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The value in thousandths (`1.5` is `1500`).
    public var thousandths: Int64

    public init(thousandths: Int64) {
        self.thousandths = thousandths
    }

    /// The nearest value with three decimal places to `value`, which must be finite.
    public init(_ value: Double) {
        precondition(value.isFinite, "a scalar must be finite")
        self.thousandths = Int64((value * 1_000).rounded())
    }

    public init(integerLiteral value: Int64) {
        self.thousandths = value * 1_000
    }

    public static let zero = Scalar(thousandths: 0)

    public var doubleValue: Double { Double(thousandths) / 1_000 }
    public var isZero: Bool { thousandths == 0 }

    public static func + (lhs: Scalar, rhs: Scalar) -> Scalar {
        Scalar(thousandths: lhs.thousandths + rhs.thousandths)
    }

    public static func - (lhs: Scalar, rhs: Scalar) -> Scalar {
        Scalar(thousandths: lhs.thousandths - rhs.thousandths)
    }

    public static func < (lhs: Scalar, rhs: Scalar) -> Bool {
        lhs.thousandths < rhs.thousandths
    }

    /// `4`, `0.1`, `2.5`, `0.125`: no trailing zeros.
    public var description: String {
        let sign = thousandths < 0 ? "-" : ""
        let magnitude = thousandths.magnitude
        let whole = magnitude / 1_000
        var fraction = magnitude % 1_000
        guard fraction != 0 else { return "\(sign)\(whole)" }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let text = String(fraction)
        return "\(sign)\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }
}
