/// Reads typed values out of `MarathonJSON` and collects every mistake with its path,
/// the way Marathon (Play JSON) reports them: wrong types as `error.expected.jsstring`
/// and friends, broken rules as sentences.
///
/// A missing member and `null` both read as `nil`, as Marathon's optional fields do.
struct JSONReader {
    /// Wrong JSON types, missing required members, unknown fields: answered as `Invalid JSON`.
    var typeErrors: [MarathonAPIError.Violation] = []
    /// Values of the right type that break a rule: answered as `Object is not valid`.
    var ruleErrors: [MarathonAPIError.Violation] = []

    mutating func typeError(_ path: String, _ key: String) {
        typeErrors.append(.init(path: path, key))
    }

    mutating func ruleError(_ path: String, _ message: String) {
        ruleErrors.append(.init(path: path, message))
    }

    /// The error to throw, if anything was wrong: type errors first, as Marathon reads before it validates.
    var error: MarathonAPIError? {
        if !typeErrors.isEmpty { return .invalidJSON(typeErrors) }
        if !ruleErrors.isEmpty { return .notValid(ruleErrors) }
        return nil
    }

    mutating func string(_ value: MarathonJSON?, _ path: String) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: typeError(path, "error.expected.jsstring"); return nil
        }
    }

    mutating func bool(_ value: MarathonJSON?, _ path: String) -> Bool? {
        switch value {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        default: typeError(path, "error.expected.jsboolean"); return nil
        }
    }

    mutating func double(_ value: MarathonJSON?, _ path: String) -> Double? {
        switch value {
        case nil, .null?: return nil
        case .number(let number)?: return number
        default: typeError(path, "error.expected.jsnumber"); return nil
        }
    }

    mutating func int(_ value: MarathonJSON?, _ path: String) -> Int? {
        guard let number = double(value, path) else { return nil }
        guard number == number.rounded(), abs(number) <= Double(Int32.max) * 1_000_000 else {
            typeError(path, "error.expected.int")
            return nil
        }
        return Int(number)
    }

    mutating func array(_ value: MarathonJSON?, _ path: String) -> [MarathonJSON]? {
        switch value {
        case nil, .null?: return nil
        case .array(let elements)?: return elements
        default: typeError(path, "error.expected.jsarray"); return nil
        }
    }

    mutating func object(_ value: MarathonJSON?, _ path: String) -> [String: MarathonJSON]? {
        switch value {
        case nil, .null?: return nil
        case .object(let members)?: return members
        default: typeError(path, "error.expected.jsobject"); return nil
        }
    }

    /// An array whose elements are read by `element`; elements that fail are left out
    /// (their errors are recorded under `path(i)`).
    mutating func list<Element>(
        _ value: MarathonJSON?, _ path: String,
        _ element: (MarathonJSON, String, inout JSONReader) -> Element?
    ) -> [Element]? {
        guard let elements = array(value, path) else { return nil }
        return elements.enumerated().compactMap { index, item in element(item, "\(path)(\(index))", &self) }
    }

    mutating func strings(_ value: MarathonJSON?, _ path: String) -> [String]? {
        list(value, path) { item, itemPath, reader in reader.string(item, itemPath) }
    }

    mutating func stringMap(_ value: MarathonJSON?, _ path: String) -> [String: String]? {
        guard let members = object(value, path) else { return nil }
        var map: [String: String] = [:]
        for (key, member) in members {
            if let text = string(member, "\(path)/\(key)") { map[key] = text }
        }
        return map
    }

    /// A string that must be one of `Choice`'s raw values; otherwise a rule error
    /// `is not one of (A,B)`, Marathon's wording.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ value: MarathonJSON?, _ path: String
    ) -> Choice? where Choice.RawValue == String {
        guard let text = string(value, path) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            ruleError(path, "is not one of (\(Choice.allCases.map(\.rawValue).joined(separator: ",")))")
            return nil
        }
        return choice
    }

    mutating func timestamp(_ value: MarathonJSON?, _ path: String) -> MarathonTimestamp? {
        guard let text = string(value, path) else { return nil }
        guard let timestamp = MarathonTimestamp(parsing: text) else {
            ruleError(path, "\"\(text)\" is not a timestamp like 2024-05-01T12:00:00.000Z")
            return nil
        }
        return timestamp
    }

    /// Records `unknown field` for every member of `members` not in `known`.
    mutating func rejectUnknown(_ members: [String: MarathonJSON], known: Set<String>, _ path: String) {
        for key in members.keys.sorted() where !known.contains(key) {
            typeError("\(path)/\(key)", "unknown field")
        }
    }
}

extension MarathonJSON {
    /// Whether this is `null` or an empty string, array or object.
    var isEmptyValue: Bool {
        switch self {
        case .null: true
        case .string(let text): text.isEmpty
        case .array(let elements): elements.isEmpty
        case .object(let members): members.isEmpty
        case .bool, .number: false
        }
    }
}

extension Dictionary where Key == String, Value == String {
    var json: MarathonJSON { .object(mapValues(MarathonJSON.string)) }
}
