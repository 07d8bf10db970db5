import AgoraProto
import Foundation
import Logging
import Master
import Resources
import Synchronization
import Testing
@testable import Simulator

/// The milestones a simulation reported, and a way to wait for one.
final class ReportLog: Sendable {
    private let reports = Mutex<[SimulationReport]>([])

    func append(_ report: SimulationReport) {
        reports.withLock { $0.append(report) }
    }

    var all: [SimulationReport] { reports.withLock { $0 } }

    /// Waits (polling, up to `timeout`) until a report matches; returns it, or nil.
    func wait(timeout: Duration, for matches: (SimulationReport) -> Bool) async throws -> SimulationReport? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = all.first(where: matches) { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        return all.first(where: matches)
    }
}

/// A real master in this process (on loopback) and a simulation against it.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SimulationClusterTests {
    static func masterConfiguration(runID: String) -> MasterConfiguration {
        var configuration = MasterConfiguration(runID: runID, hostname: "127.0.0.1", advertisedAddress: "",
                                                version: "test", startedAtUnixSeconds: Date().timeIntervalSince1970)
        configuration.allocationInterval = .milliseconds(100)
        return configuration
    }

    @Test func agentsRegisterRunTheirTasksAndReregisterWithThemAfterTheMasterRestarts() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let registry = InMemoryRegistry()
        let first = try MasterServer(configuration: Self.masterConfiguration(runID: "one"), registry: registry,
                                     bindAddress: "tcp://127.0.0.1:0", advertisedHost: "127.0.0.1", logger: logger)
        let firstRun = Task { try await first.run() }

        let reports = ReportLog()
        let fleet = try FleetConfiguration(agentCount: 30, connectionCount: 3,
                                           resources: try Resources(parsing: "cpus:4;mem:4096;ports:[31000-32000]"), runNonce: 42)
        var options = try SimulationOptions(masterAddress: first.advertisedAddress, fleet: fleet, tasksPerAgent: 2,
                                            taskResources: try Resources(parsing: "cpus:0.1;mem:32"))
        options.refuseSeconds = 0.5
        let simulation = try Simulation(options: options, logger: logger) { reports.append($0) }
        let simulationRun = Task { try await simulation.run() }
        defer { simulationRun.cancel() }

        let ready = try await reports.wait(timeout: .seconds(90)) { if case .ready = $0 { true } else { false } }
        #expect(ready == .ready(agents: 30, tasks: 60, frameworkID: ready.frameworkID, masterID: "one"),
                "reports: \(reports.all)")
        let before = await first.currentState()
        #expect(before.agents.count == 30 && before.agents.allSatisfy { $0.state == "active" })
        #expect(before.tasks.count == 60 && before.tasks.allSatisfy { $0.state == "TASK_RUNNING" })

        // The master goes away and a new run starts on the same port with the same registry.
        firstRun.cancel()
        _ = await firstRun.result
        let second = try MasterServer(configuration: Self.masterConfiguration(runID: "two"), registry: registry,
                                      bindAddress: first.boundAddress, advertisedHost: "127.0.0.1", logger: logger)
        let secondRun = Task { try await second.run() }
        defer { secondRun.cancel() }

        let failover = try await reports.wait(timeout: .seconds(90)) {
            if case .failoverComplete(let masterID, _, _, _) = $0 { masterID == "two" } else { false }
        }
        #expect(failover != nil, "reports: \(reports.all)")
        #expect(reports.all.contains { $0 == .agentsRegistered(masterID: "two", agents: 30, afterFailover: true,
                                                                 at: $0.time, secondsSinceStart: $0.secondsSinceStart) })
        let after = await second.currentState()
        #expect(after.agents.count == 30 && after.agents.allSatisfy { $0.state == "active" })
        #expect(after.tasks.count == 60 && after.tasks.allSatisfy { $0.state == "TASK_RUNNING" })
        #expect(Set(after.tasks.map(\.id)) == Set(before.tasks.map(\.id)))
        #expect(simulation.runningTaskCount == 60)
    }

    @Test func updateRoundsRunAgainstARealMasterAndEveryUpdateIsAcknowledged() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let master = try MasterServer(configuration: Self.masterConfiguration(runID: "rounds"),
                                      bindAddress: "tcp://127.0.0.1:0", advertisedHost: "127.0.0.1", logger: logger)
        let masterRun = Task { try await master.run() }
        defer { masterRun.cancel() }

        let reports = ReportLog()
        let fleet = try FleetConfiguration(agentCount: 6, connectionCount: 2,
                                           resources: try Resources(parsing: "cpus:4;mem:4096;ports:[31000-32000]"), runNonce: 43)
        var options = try SimulationOptions(masterAddress: master.advertisedAddress, fleet: fleet, tasksPerAgent: 2,
                                            taskResources: try Resources(parsing: "cpus:0.1;mem:32"))
        options.refuseSeconds = 0.5
        try options.setUpdateRounds(5, delay: .zero)
        let simulation = try Simulation(options: options, logger: logger) { reports.append($0) }
        let simulationRun = Task { try await simulation.run() }
        defer { simulationRun.cancel() }

        let complete = try await reports.wait(timeout: .seconds(90)) {
            if case .updateRoundsComplete = $0 { true } else { false }
        }
        guard case .updateRoundsComplete(let updates, let rounds, let seconds, _, let envelopeBytes, _)? = complete else {
            Issue.record("no update_rounds_complete; reports: \(reports.all)")
            return
        }
        #expect(updates == 60 && rounds == 5 && seconds > 0 && envelopeBytes > 0)
        #expect(reports.all.contains(.updateRoundsStarted(tasks: 12, rounds: 5, updates: 60, at: reports.all.startedAt)))
        // The master counted the 12 launch updates and the 60 of the rounds (and any retry).
        let metrics = await master.snapshots.metrics()
        let counted = metrics.split(separator: "\n").first { $0.hasPrefix("agora_master_status_updates_total ") }
        #expect(counted.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0 >= 72, "\(metrics)")
        let state = await master.currentState()
        #expect(state.tasks.count == 12 && state.tasks.allSatisfy { $0.state == "TASK_RUNNING" })
    }
}

extension Array where Element == SimulationReport {
    /// The time of the `update_rounds_started` report, or 0.
    var startedAt: Double {
        for case .updateRoundsStarted(_, _, _, let at) in self { return at }
        return 0
    }
}

extension Optional where Wrapped == SimulationReport {
    var frameworkID: String {
        if case .ready(_, _, let id, _) = self { id } else { "" }
    }
}

extension SimulationReport {
    var time: Double {
        if case .agentsRegistered(_, _, _, let at, _) = self { at } else { 0 }
    }

    var secondsSinceStart: Double {
        if case .agentsRegistered(_, _, _, _, let seconds) = self { seconds } else { 0 }
    }
}
