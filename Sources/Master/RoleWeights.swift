import Foundation
import Resources

/// Weights of roles for fair sharing: a role with weight 2 is entitled to twice the
/// share of a role with weight 1. Roles not listed weigh 1.
public struct RoleWeights: Equatable, Sendable, CustomStringConvertible {
    public private(set) var weights: [String: Double]

    public init(_ weights: [String: Double] = [:]) {
        self.weights = weights
    }

    /// Parses the `--weights` flag: `ops=2,dev=1` (whitespace ignored).
    public init(parsing text: String) throws(RoleWeightsError) {
        weights = [:]
        for piece in text.split(separator: ",") {
            let pair = piece.split(separator: "=", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty else {
                throw RoleWeightsError(description: "invalid weight \"\(piece)\": expected ROLE=WEIGHT, e.g. ops=2")
            }
            guard let weight = Double(pair[1]), weight.isFinite, weight > 0 else {
                throw RoleWeightsError(description: "invalid weight for role \"\(pair[0])\": \"\(pair[1])\" is not a positive number")
            }
            guard weights[pair[0]] == nil else {
                throw RoleWeightsError(description: "the role \"\(pair[0])\" is given two weights")
            }
            weights[pair[0]] = weight
        }
    }

    public subscript(role: String) -> Double {
        weights[role] ?? 1
    }

    /// `dev=1,ops=2`, sorted by role.
    public var description: String {
        weights.sorted { $0.key < $1.key }.map { "\($0.key)=\(Scalar(Double($0.value)))" }.joined(separator: ",")
    }
}

/// A `--weights` value that could not be parsed.
public struct RoleWeightsError: Error, Equatable, CustomStringConvertible {
    public let description: String
}
