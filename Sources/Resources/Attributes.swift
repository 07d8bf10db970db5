/// Named properties of an agent (`rack:r1;zone:a;level:3`), matched by constraints.
public struct Attributes: Hashable, Sendable, Codable, Sequence, CustomStringConvertible {
    /// One attribute; text when the value is not a number, ranges or a set.
    public struct Attribute: Hashable, Sendable, Codable, CustomStringConvertible {
        public enum Value: Hashable, Sendable, Codable {
            case text(String)
            case scalar(Scalar)
            case ranges(RangeSet)
            case set(Set<String>)
        }

        public var name: String
        public var value: Value

        public init(name: String, value: Value) {
            self.name = name
            self.value = value
        }

        /// The value as constraints compare it (`r1`, `3`, `[1-2]`, `{a,b}`).
        public var valueText: String {
            switch value {
            case .text(let text): text
            case .scalar(let scalar): scalar.description
            case .ranges(let ranges): ranges.description
            case .set(let items): "{" + items.sorted().joined(separator: ",") + "}"
            }
        }

        public var description: String { "\(name):\(valueText)" }
    }

    /// In the order given; names are unique.
    public private(set) var attributes: [Attribute]

    public init(_ attributes: [Attribute] = []) {
        self.attributes = attributes
    }

    /// Parses `name:value;…`. A value is a number, ranges (`[1-2]`), a set (`{a,b}`)
    /// or otherwise text. A repeated name is an error.
    public init(parsing text: String) throws(ResourceParseError) {
        attributes = []
        for token in ResourceSyntax.tokens(of: text) {
            guard let colon = token.text.firstIndex(of: ":") else { throw token.error("expected NAME:VALUE") }
            let name = token.text[..<colon].trimmingWhitespace()
            let valueText = token.text[token.text.index(after: colon)...].trimmingWhitespace()
            if let problem = ResourceSyntax.nameProblem(name) { throw token.error(problem) }
            if valueText.isEmpty { throw token.error("the value is empty") }
            if self[name] != nil { throw token.error("the attribute \"\(name)\" is given twice") }
            let value: Attribute.Value
            if valueText.hasPrefix("[") || valueText.hasPrefix("{") {
                switch try ResourceSyntax.value(from: valueText, in: token) {
                case .ranges(let ranges): value = .ranges(ranges)
                case .set(let items): value = .set(items)
                case .scalar(let scalar): value = .scalar(scalar)
                }
            } else if valueText.allSatisfy({ "0123456789.eE+-".contains($0) }), let number = Double(valueText), number.isFinite {
                value = .scalar(Scalar(number))
            } else {
                value = .text(valueText)
            }
            attributes.append(Attribute(name: name, value: value))
        }
    }

    public subscript(name: String) -> Attribute? {
        attributes.first { $0.name == name }
    }

    public var isEmpty: Bool { attributes.isEmpty }

    public func makeIterator() -> IndexingIterator<[Attribute]> {
        attributes.makeIterator()
    }

    public var description: String {
        attributes.map(\.description).joined(separator: ";")
    }
}
