/// A Kubernetes resource quantity ("500m", "0.5", "2", "64Mi", "1G", "128974848", "1e3"),
/// as found in `resources.requests` and `limits`.
public struct Quantity: Sendable, Equatable, CustomStringConvertible {
    /// The amount in base units: cores for cpu, bytes for memory.
    public let value: Double
    /// The text it was parsed from.
    public let text: String

    /// Parses the quantity syntax: a decimal number with an optional binary suffix
    /// (Ki, Mi, Gi, Ti, Pi, Ei), decimal suffix (n, u, m, k, M, G, T, P, E) or exponent (e3, E-2).
    /// - Throws: BadRequest naming the text when it is not a quantity or is negative.
    public init(parsing text: String) throws(APIError) {
        func invalid() -> APIError {
            .badRequest("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"\(text)\"")
        }
        let trimmed = text.trimmingSpaces
        let numberEnd = trimmed.firstIndex { !($0.isNumber || $0 == "." || $0 == "+" || $0 == "-") } ?? trimmed.endIndex
        let number = trimmed[..<numberEnd]
        let suffix = String(trimmed[numberEnd...])
        guard !number.isEmpty, let mantissa = Double(number) else { throw invalid() }
        let multiplier: Double
        if let binary = Self.binarySuffixes[suffix] {
            multiplier = binary
        } else if let decimal = Self.decimalSuffixes[suffix] {
            multiplier = decimal
        } else if suffix.first == "e" || suffix.first == "E", let exponent = Int(suffix.dropFirst()) {
            multiplier = Self.power(10, exponent)
        } else {
            throw invalid()
        }
        let value = mantissa * multiplier
        guard value >= 0, value.isFinite else {
            throw .badRequest("quantity \"\(text)\" must not be negative")
        }
        self.value = value
        self.text = text
    }

    /// Parses a JSON quantity: a string, or a bare number (the Python client sends `1`).
    public init(_ json: JSONValue) throws(APIError) {
        switch json {
        case .string(let text): try self.init(parsing: text)
        case .int(let number) where number >= 0: self.init(value: Double(number), text: String(number))
        case .double(let number) where number >= 0 && number.isFinite: self.init(value: number, text: String(number))
        default: throw .badRequest("a quantity must be a string such as \"500m\" or \"64Mi\", not \(json.encodedString)")
        }
    }

    private init(value: Double, text: String) {
        self.value = value
        self.text = text
    }

    /// The quantity as CPU cores ("500m" → 0.5).
    public var cores: Double { value }
    /// The quantity as memory in megabytes of 2^20 bytes, the unit Agora's `mem` resource uses ("64Mi" → 64).
    public var megabytes: Double { value / 1_048_576 }

    public var description: String { text }

    private static let binarySuffixes: [String: Double] = [
        "Ki": 1024, "Mi": power(1024, 2), "Gi": power(1024, 3), "Ti": power(1024, 4), "Pi": power(1024, 5), "Ei": power(1024, 6),
    ]
    private static let decimalSuffixes: [String: Double] = [
        "": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    ]

    private static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= base }
        return exponent < 0 ? 1 / result : result
    }
}
