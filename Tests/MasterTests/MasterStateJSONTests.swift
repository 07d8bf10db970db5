import Foundation
@testable import Master
import Testing

/// `/state` is written by `MasterStateView.jsonData()`, not `JSONEncoder` (too slow at
/// 100k tasks): both must give the same document.
@Suite("Master state JSON")
struct MasterStateJSONTests {
    private static func resources(_ cpus: Double, text: String) -> ResourcesView {
        var view = ResourcesView(.init())
        view.cpus = cpus
        view.mem = 1_024.5
        view.disk = 9e14
        view.ports = "[31000-31005]"
        view.text = text
        return view
    }

    /// Every kind of value: escapes, control characters, non-ASCII text, nil and present
    /// optionals, integral, fractional, tiny and large numbers, empty collections.
    private static let tricky = MasterStateView(
        masterID: "m\"1\\", hostname: "höst ✓\n\t\r", version: "0.1 \u{1}\u{1f}", address: "tcp://127.0.0.1:5050",
        startTime: 1_795_651_562.359_190_5, uptimeSeconds: 0.000_01,
        agents: [
            .init(id: "a1", hostname: "h", active: true, state: "active", registeredAt: 12, unreachableSince: nil,
                  httpAddress: "http://h:5051", attributes: ["rack": "r/1", "zone": "\"z\""],
                  total: resources(16, text: "cpus:16;mem:1024.5"), used: resources(0.1, text: ""),
                  offered: resources(0, text: ""), free: resources(15.9, text: "cpus:15.9"), taskCount: 3),
            .init(id: "a2", hostname: "h2", active: false, state: nil, registeredAt: 0.5, unreachableSince: 7.25,
                  httpAddress: "", attributes: [:], total: resources(1, text: "x"), used: resources(1, text: "x"),
                  offered: resources(1, text: "x"), free: resources(1, text: "x"), taskCount: 0),
        ],
        frameworks: [
            .init(id: "f1", name: "marathon", user: "root", roles: ["*", "ops/a"], suppressedRoles: [], connected: true,
                  partitionAware: false, failoverTimeoutSeconds: 604_800, dominantShare: 1.0 / 3,
                  offers: [.init(id: "o1", agentID: "a1", role: "*", resources: resources(2, text: "cpus:2"))], taskCount: 1),
        ],
        taskCounts: ["TASK_RUNNING": 1, "TASK_LOST": 1],
        tasks: [
            .init(id: "t1", name: "web", frameworkID: "f1", agentID: "a1", executorID: "e1", state: "TASK_RUNNING",
                  resources: resources(0.1, text: "cpus:0.1"), message: "the health check passed", reason: nil),
            .init(id: "t2", name: "", frameworkID: "f1", agentID: "a2", executorID: nil, state: "TASK_LOST",
                  resources: resources(0, text: ""), message: nil, reason: "reasonAgentRemoved"),
        ],
        completedTasks: [],
        roleShares: ["*": 0.25, "ops/a": 0])

    @Test func theWriterGivesTheSameDocumentAsJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let expected = try JSONSerialization.jsonObject(with: encoder.encode(Self.tricky)) as? NSDictionary
        let written = try JSONSerialization.jsonObject(with: Self.tricky.jsonData()) as? NSDictionary
        #expect(written != nil && written == expected,
                "\(String(decoding: Self.tricky.jsonData(), as: UTF8.self))")
    }

    @Test func theDocumentDecodesBackToTheView() throws {
        let decoded = try JSONDecoder().decode(MasterStateView.self, from: Self.tricky.jsonData())
        #expect(decoded.hostname == Self.tricky.hostname && decoded.version == Self.tricky.version)
        #expect(decoded.agents.map(\.unreachableSince) == [nil, 7.25])
        #expect(decoded.tasks.map(\.executorID) == ["e1", nil])
        #expect(decoded.frameworks.first?.dominantShare == 1.0 / 3)
        #expect(decoded.startTime == Self.tricky.startTime && decoded.uptimeSeconds == Self.tricky.uptimeSeconds)
        #expect(decoded.taskCounts == ["TASK_RUNNING": 1, "TASK_LOST": 1])
    }

    @Test func theSummaryHasTheCountsButNotTheTaskLists() throws {
        var s = MasterScenario()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        _ = try s.launch(MasterScenario.task("t1"), framework: f)
        _ = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskRunning, uuid: MasterScenario.uuid(1))
        _ = s.statusUpdate(agent: agent, framework: f, task: "t1", state: .taskFinished, uuid: MasterScenario.uuid(2))
        _ = try s.launch(MasterScenario.task("t2"), framework: f)

        let full = s.core.stateView(now: s.now)
        let summary = s.core.stateView(now: s.now, includingTasks: false)
        #expect(full.tasks.map(\.id) == ["t2"] && full.completedTasks.map(\.id) == ["t1"])
        #expect(summary.tasks.isEmpty && summary.completedTasks.isEmpty)
        #expect(summary.taskCounts == ["TASK_STAGING": 1, "TASK_FINISHED": 1])
        #expect(full.taskCounts == summary.taskCounts)
        #expect(summary.agents.map(\.taskCount) == [1] && summary.frameworks.map(\.taskCount) == [1])
        let decoded = try JSONDecoder().decode(MasterStateView.self, from: summary.jsonData())
        #expect(decoded.tasks.isEmpty && decoded.taskCounts == summary.taskCounts, "the summary decodes as a /state")
    }

    @Test func theTaskListingHoldsStatesTasksThenItsCompletedTasksAsStateWritesThem() throws {
        var s = MasterScenario()
        let agent = try s.registerAgent("a1")
        let f = try s.subscribe("f1")
        let offer = try s.takeOffer(for: f)
        _ = s.accept(f, offers: [offer.id.value], tasks: ["t3", "t1", "t2"].map { MasterScenario.task($0, resources: "cpus:0.1;mem:16") })
        _ = s.statusUpdate(agent: agent, framework: f, task: "t2", state: .taskRunning, uuid: MasterScenario.uuid(1))
        _ = s.statusUpdate(agent: agent, framework: f, task: "t2", state: .taskFailed, uuid: MasterScenario.uuid(2))

        let listing = s.core.taskListing()
        #expect(listing.elements.map(\.id) == ["t1", "t3", "t2"], "live tasks by ID, then the completed one")
        #expect(Set(listing.elements.map(\.group)) == [f])
        let view = s.core.stateView(now: s.now)
        let fromState = try JSONSerialization.jsonObject(with: view.jsonData()) as? [String: Any]
        let stateTasks = ((fromState?["tasks"] as? [Any]) ?? []) + ((fromState?["completedTasks"] as? [Any]) ?? [])
        let listed = try JSONSerialization.jsonObject(with: listing.array(of: listing.elements.indices)) as? [Any]
        #expect((listed as? NSArray) == (stateTasks as NSArray), "each task as /state writes it")
    }
}
