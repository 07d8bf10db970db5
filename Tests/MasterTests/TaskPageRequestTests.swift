import Foundation
import Master
import Snapshots
import Testing

/// `/tasks` reads Mesos' query parameters and pages through the published task listing.
@Suite struct TaskPageRequestTests {
    /// Five tasks: a1, a2 and a3 of framework a, b1 and b2 of framework b.
    private let listing: JSONListing = {
        let ids = [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("b", "b2")]
        var bytes = Data()
        var elements: [JSONListing.Element] = []
        for (framework, task) in ids {
            let text = Data(#"{"id":"\#(task)"}"#.utf8)
            elements.append(.init(range: bytes.count..<(bytes.count + text.count), group: framework, id: task))
            bytes.append(text)
        }
        return JSONListing(bytes: bytes, elements: elements)
    }()

    private func ids(_ query: [(String, String)]) throws -> [String] {
        try TaskPageRequest(query: query).indexes(in: listing).map { listing.elements[$0].id }
    }

    @Test func theDefaultsAreMesos() throws {
        let request = try TaskPageRequest(query: [])
        #expect(request == TaskPageRequest())
        #expect(request.limit == 100 && request.offset == 0 && request.descending)
        #expect(try ids([]) == ["b2", "b1", "a3", "a2", "a1"], "newest last in the listing, so first by default")
    }

    @Test func limitOffsetAndOrderPage() throws {
        #expect(try ids([("order", "asc"), ("limit", "2")]) == ["a1", "a2"])
        #expect(try ids([("order", "asc"), ("limit", "2"), ("offset", "2")]) == ["a3", "b1"])
        #expect(try ids([("order", "asc"), ("limit", "2"), ("offset", "4")]) == ["b2"])
        #expect(try ids([("order", "asc"), ("offset", "9")]) == [])
        #expect(try ids([("limit", "2"), ("offset", "1")]) == ["b1", "a3"])
        #expect(try ids([("limit", "0")]) == [])
        #expect(try ids([("limit", String(Int.max)), ("offset", "3")]) == ["a2", "a1"], "a huge limit is the rest")
    }

    @Test func filtersApplyBeforePaging() throws {
        #expect(try ids([("framework_id", "a"), ("order", "asc")]) == ["a1", "a2", "a3"])
        #expect(try ids([("framework_id", "a"), ("limit", "1"), ("offset", "1")]) == ["a2"])
        #expect(try ids([("framework_id", "b"), ("task_id", "b1")]) == ["b1"])
        #expect(try ids([("task_id", "a2")]) == ["a2"])
        #expect(try ids([("framework_id", "nope")]) == [])
    }

    @Test func theDocumentIsMesosShape() throws {
        let request = try TaskPageRequest(query: [("order", "asc"), ("limit", "2")])
        let document = try JSONSerialization.jsonObject(with: request.document(from: listing)) as? [String: Any]
        #expect((document?["tasks"] as? [[String: String]])?.map { $0["id"] } == ["a1", "a2"])
        let empty = try TaskPageRequest(query: [("framework_id", "nope")]).document(from: listing)
        #expect(String(decoding: empty, as: UTF8.self) == #"{"tasks":[]}"#)
    }

    @Test(arguments: [
        (("limit", "-1"), "limit must be a non-negative whole number, not \"-1\""),
        (("offset", "ten"), "offset must be a non-negative whole number, not \"ten\""),
        (("order", "up"), "order must be asc or desc, not \"up\""),
        (("limt", "5"), "unknown query parameter \"limt\""),
    ])
    func badParametersAreNamed(parameter: (String, String), message: String) {
        #expect {
            try TaskPageRequest(query: [parameter])
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
