import Foundation
import Snapshots

/// A `/tasks` request with Mesos' query parameters: which tasks of the master's task
/// listing, in which order.
///
/// The listing holds live tasks by framework ID and task ID, then recently completed
/// tasks in the order they completed (as `/state` lists them). `order=asc` pages through
/// it in that order; `order=desc`, Mesos' default, from its end. Filters apply first.
public struct TaskPageRequest: Equatable, Sendable {
    /// At most this many tasks (`limit`, default 100).
    public var limit = 100
    /// Skips this many (`offset`, default 0).
    public var offset = 0
    /// `order=desc` (the default) or `asc`.
    public var descending = true
    /// Only this framework's tasks (`framework_id`).
    public var frameworkID: String?
    /// Only tasks with this ID (`task_id`).
    public var taskID: String?

    /// A query parameter `/tasks` does not take or a value it cannot use.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init() {}

    /// Reads the query parameters; throws `Invalid`, naming the parameter, for a
    /// parameter it does not know or a value it cannot use.
    public init(query: some Sequence<(String, String)>) throws(Invalid) {
        for (name, value) in query {
            switch name {
            case "limit": limit = try Self.count(value, name: name)
            case "offset": offset = try Self.count(value, name: name)
            case "order":
                switch value {
                case "asc": descending = false
                case "desc": descending = true
                default: throw Invalid(description: "order must be asc or desc, not \(value.debugDescription)")
                }
            case "framework_id": frameworkID = value
            case "task_id": taskID = value
            default:
                throw Invalid(description: "unknown query parameter \(name.debugDescription): /tasks takes "
                              + "limit, offset, order, framework_id and task_id")
            }
        }
    }

    /// The indexes in `listing` of the tasks this request asks for, in order.
    public func indexes(in listing: JSONListing) -> [Int] {
        guard frameworkID != nil || taskID != nil else {
            let count = listing.elements.count
            let first = min(offset, count)
            let page = first..<(first + min(limit, count - first))
            return descending ? page.map { count - 1 - $0 } : Array(page)
        }
        let matching = listing.elements.indices.filter { index in
            let element = listing.elements[index]
            return (frameworkID.map { element.group == $0 } ?? true) && (taskID.map { element.id == $0 } ?? true)
        }
        return Array((descending ? Array(matching.reversed()) : matching).dropFirst(offset).prefix(limit))
    }

    /// The `/tasks` document: `{"tasks":[…]}`.
    public func document(from listing: JSONListing) -> Data {
        var document = Data("{\"tasks\":".utf8)
        document.append(listing.array(of: indexes(in: listing)))
        document.append(UInt8(ascii: "}"))
        return document
    }

    private static func count(_ value: String, name: String) throws(Invalid) -> Int {
        guard let number = Int(value), number >= 0 else {
            throw Invalid(description: "\(name) must be a non-negative whole number, not \(value.debugDescription)")
        }
        return number
    }
}
