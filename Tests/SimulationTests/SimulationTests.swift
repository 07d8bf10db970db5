// Deterministic simulation of the whole cluster's logic: MasterCore, AgentCores,
// scripted frameworks and fake executors over a faulty simulated network (see
// `Simulation`). Each seed is one randomized run; invariants are checked after
// every step and at the end of a fault-free drain.
//
// A failing seed prints `SIMULATION FAILED seed=… step=…` with the last steps.
//   Replay one seed:      AGORA_SIM_SEED=<seed> swift test --skip-build --filter Simulation
//   (with AGORA_SIM_TRACE=1 the replay prints its whole trace, core logs included)
//   Run more seeds:       AGORA_SIM_SEEDS=<n> swift test --skip-build --filter Simulation
//   Start elsewhere:      AGORA_SIM_FIRST_SEED=<k> (seeds k, k+1, …; default 1)
//   Set fault rates:      AGORA_SIM_FAULTS=drop=0.1,duplicate=0.05,reorder=0.2,delay=0.05,
//                         intraLinkReorder=0.05,masterCrash=0.01,storm=3 (any subset of
//                         `Simulation.Faults`' rates; otherwise each seed draws its own;
//                         `storm` scales crashes, partitions and disconnects)
//   Keep going:           AGORA_SIM_MAX_FAILURES=<n> (a batch stops after n failures; default 3)
// The harness is deterministic per seed; the cores' own status-update UUIDs are
// random (`UUID()`), which only changes the UUIDs printed in traces. For replays that
// are bit-identical also in dictionary iteration order, add SWIFT_DETERMINISTIC_HASHING=1.

import Foundation
import Testing

@Suite("Simulation")
struct SimulationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let batches = 8
    /// A batch stops after this many failing seeds (`AGORA_SIM_MAX_FAILURES`).
    static let maxFailuresPerBatch = environment["AGORA_SIM_MAX_FAILURES"].flatMap { Int($0) } ?? 3

    static var seeds: [UInt64] {
        if let text = environment["AGORA_SIM_SEED"], let seed = UInt64(text) { return [seed] }
        let count = environment["AGORA_SIM_SEEDS"].flatMap { Int($0) } ?? 1_000
        let first = environment["AGORA_SIM_FIRST_SEED"].flatMap { UInt64($0) } ?? 1
        return (0..<UInt64(max(count, 0))).map { first + $0 }
    }

    static func settings(seed: UInt64) -> Simulation.Settings {
        var settings = Simulation.Settings(seed: seed)
        settings.keepFullTrace = environment["AGORA_SIM_TRACE"] == "1"
        for pair in (environment["AGORA_SIM_FAULTS"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Double(parts[1]) { settings.faultOverrides[String(parts[0])] = value }
        }
        return settings
    }

    /// Runs one seed; a failure is replayed with tracing on to report its last steps.
    static func run(_ settings: Simulation.Settings) -> (Simulation.Statistics, Simulation.Failure?) {
        var simulation = Simulation(settings: settings)
        let statistics = simulation.run()
        guard var failure = simulation.failure else { return (statistics, nil) }
        if !settings.tracing && !settings.keepFullTrace {
            var traced = settings
            traced.tracing = true
            var replay = Simulation(settings: traced)
            _ = replay.run()
            if let again = replay.failure, again.step == failure.step {
                failure = again
            } else {
                failure.trace = ["(the replay with tracing did not fail the same way: \(replay.failure?.violation ?? "no failure"))"]
            }
        }
        return (statistics, failure)
    }

    @Test("random cluster runs keep their invariants", arguments: 0..<batches)
    func randomRuns(batch: Int) async {
        let seeds = Self.seeds.enumerated().filter { $0.offset % Self.batches == batch }.map(\.element)
        var total = Simulation.Statistics()
        var failures = 0
        for seed in seeds {
            // Seconds of pure computation: give the (two-thread) test pool back between
            // seeds, so that timing-sensitive tests running alongside are not starved.
            await Task.yield()
            let (statistics, failure) = Self.run(Self.settings(seed: seed))
            total.add(statistics)
            if let failure {
                failures += 1
                print(failure.description)
                Issue.record(Comment(rawValue: failure.description))
                if failures >= Self.maxFailuresPerBatch { break }
            }
        }
        if !seeds.isEmpty {
            print("simulation batch \(batch): \(seeds.count) seeds, \(total.steps) steps, \(Int(total.virtualSeconds)) virtual s, tasks launched \(total.tasksLaunched), finished \(total.tasksFinished), updates \(total.updatesDelivered), messages \(total.messagesSent) (dropped \(total.messagesDropped)), crashes: agent \(total.agentCrashes), master \(total.masterCrashes), executor \(total.executorCrashes); partitions \(total.partitions), framework disconnects \(total.frameworkDisconnects)")
        }
    }

    /// Each deliberate harness fault must be caught within a few seeds: the checks can fail.
    @Test("a sabotaged harness is caught", arguments: Simulation.Sabotage.allCases)
    func sabotageIsCaught(sabotage: Simulation.Sabotage) {
        var caught: Simulation.Failure?
        for seed in UInt64(1)...60 {
            var settings = Simulation.Settings(seed: seed)
            settings.sabotage = sabotage
            var simulation = Simulation(settings: settings)
            _ = simulation.run()
            if let failure = simulation.failure {
                caught = failure
                break
            }
        }
        #expect(caught != nil, "sabotage \(sabotage) went unnoticed")
        if let caught { print("sabotage \(sabotage) caught: seed=\(caught.seed) step=\(caught.step): \(caught.violation)") }
    }
}
