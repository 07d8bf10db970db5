extension Resources {
    /// Parses the agent syntax: `;`-separated `name:value` or `name(role):value`
    /// tokens, where a value is a number (`4`, `0.5`), ranges (`[31000-32000,33000]`)
    /// or a set (`{a,b}`). Repeated names add up. Whitespace around tokens is ignored.
    ///
    /// - Throws: `ResourceParseError` naming the first bad token and its position.
    public init(parsing text: String) throws(ResourceParseError) {
        self.init()
        var kinds: [String: Int] = [:]
        for token in ResourceSyntax.tokens(of: text) {
            let resource = try ResourceSyntax.resource(from: token)
            if let kind = kinds[resource.name], kind != resource.value.kind {
                throw token.error("\"\(resource.name)\" appears both as \(ResourceSyntax.kindName(kind)) and as \(ResourceSyntax.kindName(resource.value.kind))")
            }
            kinds[resource.name] = resource.value.kind
            add(resource)
        }
    }
}

/// A `;`-separated piece of a resource or attribute string.
struct SyntaxToken {
    let text: String
    let position: Int

    func error(_ reason: String) -> ResourceParseError {
        ResourceParseError(token: text, position: position, reason: reason)
    }
}

/// The shared grammar of `--resources` and `--attributes`.
enum ResourceSyntax {
    /// Splits on `;` outside brackets and braces, trimming whitespace and skipping
    /// empty pieces, and remembers where each piece starts.
    static func tokens(of text: String) -> [SyntaxToken] {
        var tokens: [SyntaxToken] = []
        var current = "", start = 0, depth = 0
        for (offset, character) in text.enumerated() {
            switch character {
            case "[", "{": depth += 1
            case "]", "}": depth -= 1
            default: break
            }
            if character == ";" && depth <= 0 {
                append(current, at: start, to: &tokens)
                current = ""
                start = offset + 1
                depth = 0
            } else {
                current.append(character)
            }
        }
        append(current, at: start, to: &tokens)
        return tokens
    }

    private static func append(_ raw: String, at start: Int, to tokens: inout [SyntaxToken]) {
        let leading = raw.prefix { $0.isWhitespace }.count
        let trimmed = raw.trimmingWhitespace()
        if !trimmed.isEmpty { tokens.append(SyntaxToken(text: trimmed, position: start + leading)) }
    }

    static func resource(from token: SyntaxToken) throws(ResourceParseError) -> Resource {
        guard let colon = token.text.firstIndex(of: ":") else {
            throw token.error("expected NAME:VALUE or NAME(ROLE):VALUE")
        }
        var name = token.text[..<colon].trimmingWhitespace()
        let valueText = token.text[token.text.index(after: colon)...].trimmingWhitespace()
        var role = Resource.unreservedRole
        if let open = name.firstIndex(of: "(") {
            guard name.hasSuffix(")") else { throw token.error("the role is missing its closing \")\"") }
            role = String(name[name.index(after: open)..<name.index(before: name.endIndex)]).trimmingWhitespace()
            name = String(name[..<open]).trimmingWhitespace()
            if let problem = roleProblem(role) { throw token.error("invalid role \"\(role)\": \(problem)") }
        }
        if let problem = nameProblem(name) { throw token.error(problem) }
        return Resource(name: name, role: role, value: try value(from: valueText, in: token))
    }

    static func value(from text: String, in token: SyntaxToken) throws(ResourceParseError) -> Resource.Value {
        if text.isEmpty { throw token.error("the value is empty") }
        if text.hasPrefix("[") { return .ranges(try ranges(from: text, in: token)) }
        if text.hasPrefix("{") {
            guard text.hasSuffix("}") else { throw token.error("the set is missing its closing \"}\"") }
            let items = text.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingWhitespace() }
            guard !items.contains(where: \.isEmpty) else { throw token.error("the set has an empty item") }
            return .set(Set(items))
        }
        return .scalar(try scalar(from: text, in: token))
    }

    static func scalar(from text: String, in token: SyntaxToken) throws(ResourceParseError) -> Scalar {
        guard text.allSatisfy({ "0123456789.eE+-".contains($0) }), let number = Double(text) else {
            throw token.error("\"\(text)\" is not a number")
        }
        guard number.isFinite else { throw token.error("\"\(text)\" is not a finite number") }
        guard number >= 0 else { throw token.error("\"\(text)\" is negative") }
        guard number < 9e15 else { throw token.error("\"\(text)\" is too large") }
        return Scalar(number)
    }

    static func ranges(from text: String, in token: SyntaxToken) throws(ResourceParseError) -> RangeSet {
        guard text.hasSuffix("]") else { throw token.error("the ranges are missing their closing \"]\"") }
        var result: [ClosedRange<UInt64>] = []
        for piece in text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false) {
            let part = String(piece).trimmingWhitespace()
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
            guard !part.isEmpty, bounds.count <= 2,
                  let begin = UInt64(bounds[0]), let end = UInt64(bounds.count == 2 ? bounds[1] : bounds[0])
            else { throw token.error("\"\(part)\" is not a range like 31000-32000") }
            guard begin <= end else { throw token.error("the range \(part) ends before it begins") }
            result.append(begin...end)
        }
        return RangeSet(result)
    }

    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "the name is empty" }
        // ASCII names (every well-known one) are checked byte by byte: walking
        // Characters cost a master failover a tenth of its time.
        var isASCII = true
        for byte in name.utf8 {
            switch byte {
            case 0x09...0x0D, 0x20, UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"),
                 UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: ","):
                return "the name \"\(name)\" contains \"\(Character(Unicode.Scalar(byte)))\""
            case 0x80...: isASCII = false
            default: continue
            }
        }
        if isASCII { return nil }
        if let bad = name.first(where: { $0.isWhitespace || "()[]{}:;,".contains($0) }) {
            return "the name \"\(name)\" contains \"\(bad)\""
        }
        return nil
    }

    /// Mesos' role rules: not empty, no `.`/`..` path components, no leading `-`,
    /// no whitespace or control characters, `/` only between components.
    static func roleProblem(_ role: String) -> String? {
        if role.isEmpty { return "a role cannot be empty" }
        if role == Resource.unreservedRole { return nil }
        if role.hasPrefix("-") { return "a role cannot start with \"-\"" }
        if role.hasPrefix("/") || role.hasSuffix("/") { return "a role cannot start or end with \"/\"" }
        if role.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }) {
            return "a role cannot contain whitespace or control characters"
        }
        for component in role.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "a role cannot contain \"//\"" }
            if component == "." || component == ".." { return "\"\(component)\" is not allowed in a role" }
            if component.contains("*") { return "\"*\" is only allowed as the whole role" }
        }
        return nil
    }

    static func kindName(_ kind: Int) -> String {
        switch kind {
        case 0: "a number"
        case 1: "ranges"
        default: "a set"
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
