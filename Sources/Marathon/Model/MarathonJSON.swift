import Foundation

/// A JSON value as Marathon's REST API reads and writes it.
///
/// Used where the shape is not fixed in advance: request bodies before they are read
/// into typed values (so each wrong field can be reported with its path), partial
/// updates, and pass-through data such as volumes. Numbers are `Double`s; integer
/// fields check that the number is whole.
public enum MarathonJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([MarathonJSON])
    case object([String: MarathonJSON])

    /// The member `key` of an object; `nil` for a missing key or a non-object.
    public subscript(key: String) -> MarathonJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The members of an object, or `nil`.
    public var objectValue: [String: MarathonJSON]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The text of a string, or `nil`.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// Compact JSON text with keys sorted, `/` not escaped.
    public var serialized: String {
        var output = ""
        write(to: &output)
        return output
    }

    /// `serialized` as UTF-8 bytes.
    public var data: Data { Data(serialized.utf8) }

    /// An object from members whose values may be missing: `nil` members are left out,
    /// so a client never sees a key without a value.
    public static func compactObject(_ members: KeyValuePairs<String, MarathonJSON?>) -> MarathonJSON {
        var object: [String: MarathonJSON] = [:]
        for (key, value) in members {
            if let value { object[key] = value }
        }
        return .object(object)
    }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .number(let number): output += Self.format(number)
        case .string(let text): Self.writeString(text, to: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                Self.writeString(key, to: &output)
                output += ":"
                members[key]!.write(to: &output)
            }
            output += "}"
        }
    }

    /// Whole numbers print without a fraction (`128`, not `128.0`); others in Swift's shortest form.
    static func format(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
            return String(Int64(number))
        }
        return "\(number)"
    }

    private static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                output += "\\u" + String(repeating: "0", count: 4 - String(control.value, radix: 16).count)
                    + String(control.value, radix: 16)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension MarathonJSON {
    /// Parses a request body the way Marathon answers bad ones.
    ///
    /// - Throws: `MarathonAPIError` 400 `Please specify data in JSON format` for an empty
    ///   body, 400 `{"message":"Invalid JSON","details":"<parser text>"}` for malformed JSON.
    public static func parse(_ data: Data) throws(MarathonAPIError) -> MarathonJSON {
        var parser = Parser(bytes: Array(data))
        parser.skipWhitespace()
        guard !parser.atEnd else { throw .emptyBody }
        do throws(Parser.Failure) {
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.atEnd else { throw parser.failure("Unexpected trailing content") }
            return value
        } catch {
            throw .malformedJSON(error.description)
        }
    }

    /// Parses JSON text; see `parse(_:)`.
    public static func parse(_ text: String) throws(MarathonAPIError) -> MarathonJSON {
        try parse(Data(text.utf8))
    }
}

/// A recursive-descent JSON parser over UTF-8 bytes whose errors name the line and column.
private struct Parser {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let bytes: [UInt8]
    var position = 0
    static let maximumDepth = 256

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }

    func failure(_ reason: String) -> Failure {
        var line = 1, column = 1
        for byte in bytes[..<min(position, bytes.count)] {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return Failure(description: "\(reason) at line \(line), column \(column)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func parseValue(depth: Int) throws(Failure) -> MarathonJSON {
        guard depth < Self.maximumDepth else { throw failure("JSON nested too deeply") }
        skipWhitespace()
        guard !atEnd else { throw failure("Unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("Unexpected character '\(Character(Unicode.Scalar(bytes[position])))'")
        }
    }

    mutating func expectLiteral(_ literal: String) throws(Failure) {
        let expected = Array(literal.utf8)
        guard bytes.count - position >= expected.count,
              Array(bytes[position..<position + expected.count]) == expected else {
            throw failure("Unrecognized token, expected '\(literal)'")
        }
        position += expected.count
    }

    mutating func parseObject(depth: Int) throws(Failure) -> MarathonJSON {
        position += 1
        var members: [String: MarathonJSON] = [:]
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: "\"") else {
                throw failure("Expected a double-quoted field name")
            }
            let key = try parseString()
            skipWhitespace()
            guard !atEnd, bytes[position] == UInt8(ascii: ":") else { throw failure("Expected ':' after a field name") }
            position += 1
            members[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard !atEnd else { throw failure("Unexpected end of input inside an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw failure("Expected ',' or '}' in an object")
        }
    }

    mutating func parseArray(depth: Int) throws(Failure) -> MarathonJSON {
        position += 1
        var elements: [MarathonJSON] = []
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard !atEnd else { throw failure("Unexpected end of input inside an array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            throw failure("Expected ',' or ']' in an array")
        }
    }

    mutating func parseString() throws(Failure) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var start = position
        func flush(_ end: Int) throws(Failure) {
            guard let chunk = String(validating: bytes[start..<end], as: UTF8.self) else {
                throw failure("Invalid UTF-8 in a string")
            }
            scalars.append(contentsOf: chunk.unicodeScalars)
        }
        while true {
            guard !atEnd else { throw failure("Unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                try flush(position)
                position += 1
                return String(scalars)
            }
            if byte < 0x20 { throw failure("Unescaped control character in a string") }
            if byte != UInt8(ascii: "\\") { position += 1; continue }
            try flush(position)
            position += 1
            guard !atEnd else { throw failure("Unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                          bytes[position + 1] == UInt8(ascii: "u") else { throw failure("Unpaired surrogate escape") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw failure("Invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw failure("Invalid unicode escape") }
                scalars.append(scalar)
            default:
                position -= 1
                throw failure("Unrecognized escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
            start = position
        }
    }

    mutating func parseHex4() throws(Failure) -> UInt32 {
        guard bytes.count - position >= 4,
              let text = String(validating: bytes[position..<position + 4], as: UTF8.self),
              let code = UInt32(text, radix: 16) else { throw failure("Invalid \\u escape") }
        position += 4
        return code
    }

    mutating func parseNumber() throws(Failure) -> Double {
        let start = position
        func digits() -> Int {
            let begin = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return position - begin
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        guard digits() > 0 else { throw failure("Expected a digit") }
        if bytes[integerStart] == UInt8(ascii: "0"), position - integerStart > 1 {
            position = integerStart
            throw failure("Leading zeroes are not allowed in numbers")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw failure("Expected a digit after the decimal point") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits() > 0 else { throw failure("Expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let number = Double(text), number.isFinite else { throw failure("Number out of range") }
        return number
    }
}

extension MarathonJSON: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: MarathonJSON] = [:]
            for key in keyed.allKeys {
                members[key.stringValue] = try keyed.decode(MarathonJSON.self, forKey: key)
            }
            self = .object(members)
        } else if var unkeyed = try? decoder.unkeyedContainer() {
            var elements: [MarathonJSON] = []
            while !unkeyed.isAtEnd { elements.append(try unkeyed.decode(MarathonJSON.self)) }
            self = .array(elements)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let flag = try? single.decode(Bool.self) {
                self = .bool(flag)
            } else if let number = try? single.decode(Double.self) {
                self = .number(number)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .object(let members):
            var keyed = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in members { try keyed.encode(value, forKey: AnyKey(stringValue: key)) }
        case .array(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let flag):
            var single = encoder.singleValueContainer()
            try single.encode(flag)
        case .number(let number):
            var single = encoder.singleValueContainer()
            if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
                try single.encode(Int64(number))
            } else {
                try single.encode(number)
            }
        case .string(let text):
            var single = encoder.singleValueContainer()
            try single.encode(text)
        }
    }

    /// Encodes the members of `self` (an object) into `encoder`'s keyed container, so a
    /// type can add further keys beside them (AppInfo adds task counts to the app).
    func encodeMembers(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in objectValue ?? [:] { try keyed.encode(value, forKey: AnyKey(stringValue: key)) }
    }
}

extension MarathonJSON {
    /// Encodes any response value as Marathon JSON bytes: sorted keys, `/` unescaped.
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// The JSON tree of any response value.
    public static func from<Value: Encodable>(_ value: Value) throws -> MarathonJSON {
        try JSONDecoder().decode(MarathonJSON.self, from: encode(value))
    }
}
