/// A Marathon app id such as `/group/app`: absolute, segments separated by `/`.
///
/// `init(_:)` normalizes what clients send (relative → absolute, `//` collapsed, a
/// trailing `/` dropped, `.` and `..` resolved) and never fails, so routes can look
/// ids up; `violations` says what Marathon would reject about an id given in an app.
public struct PathID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The segments, e.g. `["group", "app"]`; empty for the root `/`.
    public let segments: [String]

    /// Marathon's regular expression that every segment must fully match.
    public static let segmentPattern =
        #"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$"#

    /// Last segments that would clash with the REST routes under `/v2/apps/{id}/…`.
    public static let reservedLastSegments: Set<String> = ["restart", "tasks", "versions"]

    /// The root group `/`.
    public static let root = PathID(segments: [])

    public init(segments: [String]) {
        self.segments = segments
    }

    /// Normalizes `text`: `test-app` → `/test-app`, `//a//b/` → `/a/b`, `/a/./b/../c` → `/a/c`.
    /// Segments are kept as given otherwise (case included), so `violations` can report them.
    public init(_ text: String) {
        var resolved: [String] = []
        for segment in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !resolved.isEmpty { resolved.removeLast() }
            default: resolved.append(String(segment))
            }
        }
        self.segments = resolved
    }

    /// Whether this is the root `/`.
    public var isRoot: Bool { segments.isEmpty }

    /// The last segment, e.g. `app` for `/group/app`.
    public var name: String { segments.last ?? "" }

    /// The enclosing group, e.g. `/group` for `/group/app`.
    public var parent: PathID { PathID(segments: Array(segments.dropLast())) }

    /// `/group/app`.
    public var description: String { "/" + segments.joined(separator: "/") }

    /// The id in task ids: `/group/app` → `group_app`. Reversible, because segments
    /// cannot contain `_`.
    public var safeName: String { segments.joined(separator: "_") }

    /// The id whose `safeName` is `safeName` (`group_app` → `/group/app`).
    public init(safeName: String) {
        self.init(segments: safeName.split(separator: "_").map(String.init))
    }

    /// Whether this id is `other` or lies inside the group `other`.
    public func isDescendant(of other: PathID) -> Bool {
        segments.count >= other.segments.count && Array(segments.prefix(other.segments.count)) == other.segments
    }

    /// What is wrong with this id as an app id, in Marathon's words; empty when valid.
    public var violations: [String] {
        var problems: [String] = []
        if segments.isEmpty {
            problems.append("Path must contain at least one path element")
        }
        if segments.contains(where: { !Self.isValidSegment($0) }) {
            problems.append("must fully match regular expression '\(Self.segmentPattern)'")
        }
        if let last = segments.last, Self.reservedLastSegments.contains(last) {
            problems.append("must not end with any of the following reserved words: restart, tasks, versions")
        }
        return problems
    }

    /// Whether `segment` fully matches `segmentPattern`: dot-separated labels of lowercase
    /// letters, digits and inner hyphens.
    public static func isValidSegment(_ segment: String) -> Bool {
        if segment == "." || segment == ".." { return true }
        let labels = segment.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            func alphanumeric(_ character: Character) -> Bool {
                character.isASCII && (character.isLowercase || character.isNumber)
            }
            return alphanumeric(first) && alphanumeric(last)
                && label.allSatisfy { alphanumeric($0) || $0 == "-" }
        }
    }

    public static func < (lhs: PathID, rhs: PathID) -> Bool {
        lhs.segments.lexicographicallyPrecedes(rhs.segments)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
