/// A label selector, parsed from the `labelSelector` query string (`app=web,tier!=db,
/// env in (a,b),!legacy`) or built from a `LabelSelector` object (`matchLabels` plus
/// `matchExpressions`). All requirements must hold.
public struct LabelSelector: Sendable, Equatable {
    /// One requirement on one label.
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case `in`(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
        /// Matches nothing: a selector object that was nil or held an unknown operator.
        case nothing
    }

    public let requirements: [Requirement]

    public init(requirements: [Requirement]) {
        self.requirements = requirements
    }

    /// Parses the query-string syntax; an empty string selects everything.
    /// - Throws: BadRequest naming the part that does not parse.
    public init(parsing text: String) throws(APIError) {
        var parser = SelectorParser(text: text)
        requirements = try parser.parse()
    }

    /// Builds a selector from a `LabelSelector` object. As in Kubernetes, nil selects
    /// nothing and an empty object selects everything; an unknown operator selects nothing.
    public init(matchLabels selector: JSONValue?) {
        guard let selector, case .object = selector else {
            requirements = [.nothing]
            return
        }
        var requirements: [Requirement] = []
        for (key, value) in (selector["matchLabels"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            requirements.append(.equals(key, value.selectorString ?? ""))
        }
        for expression in selector["matchExpressions"]?.arrayValue ?? [] {
            let key = expression["key"]?.stringValue ?? ""
            let values = Set((expression["values"]?.arrayValue ?? []).compactMap(\.stringValue))
            switch expression["operator"]?.stringValue {
            case "In": requirements.append(.in(key, values))
            case "NotIn": requirements.append(.notIn(key, values))
            case "Exists": requirements.append(.exists(key))
            case "DoesNotExist": requirements.append(.doesNotExist(key))
            default: requirements.append(.nothing)
            }
        }
        self.requirements = requirements
    }

    /// Whether every requirement holds for `labels`.
    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): return labels[key] == value
            case .notEquals(let key, let value): return labels[key] != value
            case .in(let key, let values): return labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): return labels[key].map { !values.contains($0) } ?? true
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            case .nothing: return false
            }
        }
    }
}

/// The query-string grammar: requirements separated by commas (not inside parentheses).
private struct SelectorParser {
    let text: String

    mutating func parse() throws(APIError) -> [LabelSelector.Requirement] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1; current.append(character)
            case ")": depth -= 1; current.append(character)
            case "," where depth == 0: parts.append(current); current = ""
            default: current.append(character)
            }
        }
        parts.append(current)
        var requirements: [LabelSelector.Requirement] = []
        for part in parts.map({ $0.trimmingSpaces }) where !part.isEmpty {
            requirements.append(try requirement(part))
        }
        return requirements
    }

    private func requirement(_ part: String) throws(APIError) -> LabelSelector.Requirement {
        func invalid(_ why: String) -> APIError {
            .badRequest("unable to parse requirement: \(why) in label selector \"\(text)\" at \"\(part)\"")
        }
        if part.hasPrefix("!") {
            let key = String(part.dropFirst()).trimmingSpaces
            try checkKey(key, invalid)
            return .doesNotExist(key)
        }
        let operators: [(String, (String, String) -> LabelSelector.Requirement)] = [
            ("!=", LabelSelector.Requirement.notEquals), ("==", LabelSelector.Requirement.equals), ("=", LabelSelector.Requirement.equals),
        ]
        for (op, build) in operators {
            if let range = part.range(of: op) {
                let key = String(part[..<range.lowerBound]).trimmingSpaces
                let value = String(part[range.upperBound...]).trimmingSpaces
                try checkKey(key, invalid)
                guard !value.contains(where: { "=!(), ".contains($0) }) else { throw invalid("invalid label value \"\(value)\"") }
                return build(key, value)
            }
        }
        let words = part.split(separator: " ", maxSplits: 1).map(String.init)
        if words.count == 2 {
            let key = words[0]
            let rest = words[1].trimmingSpaces
            for (op, isIn) in [("in", true), ("notin", false)] where rest.hasPrefix(op) {
                let list = rest.dropFirst(op.count).trimmingSpaces
                guard list.hasPrefix("("), list.hasSuffix(")") else { throw invalid("expected a parenthesised value list") }
                let values = Set(list.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingSpaces }
                    .filter { !$0.isEmpty })
                try checkKey(key, invalid)
                return isIn ? .in(key, values) : .notIn(key, values)
            }
            throw invalid("unknown operator \"\(rest)\"")
        }
        try checkKey(part, invalid)
        return .exists(part)
    }

    private func checkKey(_ key: String, _ invalid: (String) -> APIError) throws(APIError) {
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) else {
            throw invalid("invalid label key \"\(key)\"")
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
