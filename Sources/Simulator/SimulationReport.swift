import Foundation

/// A milestone of a simulation, printed as one JSON line. Times are Unix seconds, so
/// a benchmark script can relate them to what it did (killed or restarted the master).
public enum SimulationReport: Sendable, Equatable {
    /// Every agent is registered with master run `masterID`. After a failover
    /// (`afterFailover`) this is the moment the last agent re-registered.
    case agentsRegistered(masterID: String, agents: Int, afterFailover: Bool, at: Double, secondsSinceStart: Double)
    /// The built-in framework subscribed (or re-subscribed) with master run `masterID`.
    case frameworkSubscribed(frameworkID: String, masterID: String, at: Double)
    /// The first offers from master run `masterID` reached the framework.
    case offersFlowing(masterID: String, at: Double)
    /// All launched tasks reported `TASK_RUNNING` to the framework.
    case tasksRunning(tasks: Int, at: Double, secondsSinceSubscribed: Double)
    /// The simulation is set up: agents registered, framework subscribed, tasks running.
    case ready(agents: Int, tasks: Int, frameworkID: String, masterID: String)
    /// After a master failover every agent re-registered and offers flow again; `at`
    /// is the later of the two.
    case failoverComplete(masterID: String, at: Double, agentsAt: Double, offersAt: Double)
    /// The update rounds (`--update-rounds`) started: `rounds` further status updates
    /// for each of `tasks` tasks.
    case updateRoundsStarted(tasks: Int, rounds: Int, updates: Int, at: Double)
    /// Every update of the rounds was acknowledged, `seconds` after they started.
    /// `retries` counts updates re-sent meanwhile after their backoff; `envelopeBytes`
    /// is the encoded size of one update's envelope.
    case updateRoundsComplete(updates: Int, rounds: Int, seconds: Double, retries: Int, envelopeBytes: Int, at: Double)

    /// The report as a JSON object on one line (no trailing newline).
    public var jsonLine: String {
        var object: [String: Any]
        switch self {
        case let .agentsRegistered(masterID, agents, afterFailover, at, seconds):
            object = ["event": afterFailover ? "agents_reregistered" : "agents_registered", "master_id": masterID,
                      "agents": agents, "unix": at, "seconds_since_start": seconds]
        case let .frameworkSubscribed(frameworkID, masterID, at):
            object = ["event": "framework_subscribed", "framework_id": frameworkID, "master_id": masterID, "unix": at]
        case let .offersFlowing(masterID, at):
            object = ["event": "offers_flowing", "master_id": masterID, "unix": at]
        case let .tasksRunning(tasks, at, seconds):
            object = ["event": "tasks_running", "tasks": tasks, "unix": at, "seconds_since_subscribed": seconds]
        case let .ready(agents, tasks, frameworkID, masterID):
            object = ["ready": true, "agents": agents, "tasks": tasks, "framework_id": frameworkID, "master_id": masterID]
        case let .failoverComplete(masterID, at, agentsAt, offersAt):
            object = ["event": "failover_complete", "master_id": masterID, "unix": at, "agents_unix": agentsAt,
                      "offers_unix": offersAt]
        case let .updateRoundsStarted(tasks, rounds, updates, at):
            object = ["event": "update_rounds_started", "tasks": tasks, "rounds": rounds, "updates": updates, "unix": at]
        case let .updateRoundsComplete(updates, rounds, seconds, retries, envelopeBytes, at):
            object = ["event": "update_rounds_complete", "updates": updates, "rounds": rounds, "seconds": seconds,
                      "updates_per_second": seconds > 0 ? Double(updates) / seconds : 0, "retries": retries,
                      "envelope_bytes": envelopeBytes, "unix": at]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
