import Foundation
import Master
import Testing
@testable import AgoraCLI

/// `agora tasks` pages through the master's `/tasks`: what it lists and how many pages it reads.
@Suite struct TasksCommandTests {
    /// Tasks as `/tasks` sends them, e.g. `("t1", "TASK_RUNNING")`.
    private static func tasks(_ list: [(String, String)]) throws -> [MasterStateView.Task] {
        let objects = list.map { id, state in
            #"{"id":"\#(id)","name":"\#(id)","frameworkID":"f","agentID":"a","state":"\#(state)","#
                + #""resources":{"cpus":0.1,"mem":32,"disk":0,"gpus":0,"ports":"[]","text":""}}"#
        }
        return try JSONDecoder().decode([MasterStateView.Task].self, from: Data("[\(objects.joined(separator: ","))]".utf8))
    }

    /// A master whose listing is `listing`, served in pages of `pageSize`; counts the requests.
    private final class Pages {
        let listing: [MasterStateView.Task]
        let pageSize: Int
        var requests = 0

        init(_ listing: [MasterStateView.Task], pageSize: Int) {
            self.listing = listing
            self.pageSize = pageSize
        }

        func page(at offset: Int) -> [MasterStateView.Task] {
            requests += 1
            return Array(listing.dropFirst(offset).prefix(pageSize))
        }
    }

    private static let listing: [(String, String)] = [
        ("t1", "TASK_RUNNING"), ("t2", "TASK_STAGING"), ("t3", "TASK_RUNNING"), ("t4", "TASK_UNREACHABLE"),
        ("t5", "TASK_FINISHED"), ("t6", "TASK_FAILED"),
    ]

    @Test func withoutAllOnlyTasksThatHaveNotEndedAreListedFromEveryPage() async throws {
        let pages = Pages(try Self.tasks(Self.listing), pageSize: 2)
        let listed = try await TasksCommand.collect(all: false, limit: nil, pageSize: 2) { pages.page(at: $0) }
        #expect(listed.map(\.id) == ["t1", "t2", "t3", "t4"])
        #expect(pages.requests == 4, "3 full pages and the empty one that ends the listing")
    }

    @Test func allListsCompletedTasksToo() async throws {
        let pages = Pages(try Self.tasks(Self.listing), pageSize: 4)
        let listed = try await TasksCommand.collect(all: true, limit: nil, pageSize: 4) { pages.page(at: $0) }
        #expect(listed.map(\.id) == ["t1", "t2", "t3", "t4", "t5", "t6"])
        #expect(pages.requests == 2, "the short page ends the listing")
    }

    @Test func aLimitStopsReadingPages() async throws {
        let pages = Pages(try Self.tasks(Self.listing), pageSize: 2)
        let listed = try await TasksCommand.collect(all: true, limit: 3, pageSize: 2) { pages.page(at: $0) }
        #expect(listed.map(\.id) == ["t1", "t2", "t3"])
        #expect(pages.requests == 2)
        let none = try await TasksCommand.collect(all: true, limit: 0, pageSize: 2) { pages.page(at: $0) }
        #expect(none.isEmpty && pages.requests == 2, "--limit 0 reads nothing")
    }

    @Test func aTaskSeenOnTwoPagesIsListedOnce() async throws {
        // Between the two requests a task ended before t2: the listing shifted by one.
        let first = try Self.tasks([("t1", "TASK_RUNNING"), ("t2", "TASK_RUNNING")])
        let second = try Self.tasks([("t2", "TASK_RUNNING"), ("t3", "TASK_RUNNING")])
        let listed = try await TasksCommand.collect(all: true, limit: nil, pageSize: 2) { offset in
            offset == 0 ? first : offset == 2 ? second.suffix(1) : []
        }
        #expect(listed.map(\.id) == ["t1", "t2", "t3"])
        let shifted = try await TasksCommand.collect(all: true, limit: nil, pageSize: 2) { offset in
            offset == 0 ? first : offset == 2 ? second : []
        }
        #expect(shifted.map(\.id) == ["t1", "t2", "t3"])
    }
}
