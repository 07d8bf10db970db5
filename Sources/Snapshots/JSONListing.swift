import Foundation

/// A long JSON array kept as its elements' texts, so that a page of it is served without
/// encoding anything: the master's `/tasks` pages through its task list this way.
///
/// Each element carries two keys readers filter on (for a task: its framework's ID and
/// its own).
public struct JSONListing: Sendable {
    /// Where one element's text is in `bytes`, and its keys.
    public struct Element: Sendable, Equatable {
        public let range: Range<Int>
        public let group: String
        public let id: String

        public init(range: Range<Int>, group: String, id: String) {
            self.range = range
            self.group = group
            self.id = id
        }
    }

    /// The elements' JSON texts, one after another with nothing between them.
    public let bytes: Data
    public let elements: [Element]

    public static let empty = JSONListing(bytes: Data(), elements: [])

    public init(bytes: Data, elements: [Element]) {
        self.bytes = bytes
        self.elements = elements
    }

    /// The JSON array of the elements at `indexes`, in that order.
    public func array(of indexes: some Collection<Int>) -> Data {
        var output = Data(capacity: 2 + indexes.reduce(0) { $0 + elements[$1].range.count + 1 })
        output.append(UInt8(ascii: "["))
        for (position, index) in indexes.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            output.append(bytes[bytes.startIndex + elements[index].range.lowerBound ..< bytes.startIndex + elements[index].range.upperBound])
        }
        output.append(UInt8(ascii: "]"))
        return output
    }
}
