/// Literal syntax, so objects read like the JSON they are: `["kind": "Pod", "spec": [:]]`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `nil` inside a literal is JSON null. Beware: where a `JSONValue?` is expected, `nil` is
    /// Optional.none, but in a ternary that yields `JSONValue` it becomes `.null`.
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// `metadata.name`, or "" when missing.
    public var name: String { self[path: ["metadata", "name"]]?.stringValue ?? "" }
    /// `metadata.namespace`, if set.
    public var namespace: String? { self[path: ["metadata", "namespace"]]?.stringValue }
    /// `metadata.labels` as strings (non-string values are skipped).
    public var labels: [String: String] {
        (self[path: ["metadata", "labels"]]?.objectValue ?? [:]).compactMapValues { $0.stringValue }
    }
    /// `metadata.resourceVersion`, if set.
    public var resourceVersion: String? { self[path: ["metadata", "resourceVersion"]]?.stringValue }

    /// The value as a field selector compares it: strings as they are, numbers and
    /// booleans in their JSON spelling.
    var selectorString: String? {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .bool(let value): return String(value)
        case .double(let value): return String(value)
        default: return nil
        }
    }
}
