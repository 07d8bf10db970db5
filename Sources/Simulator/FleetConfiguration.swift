import AgoraProto
import Resources

/// What the simulated agents look like and how they behave; validated by `init`.
public struct FleetConfiguration: Sendable {
    /// How many simulated agents there are.
    public let agentCount: Int
    /// How many ZeroMQ connections they share; agent `i` uses connection `i % connectionCount`.
    public let connectionCount: Int
    /// What every agent offers, e.g. `cpus:16;mem:65536;ports:[31000-32000]`.
    public let resources: Resources
    /// Distinguishes this simulator run: it prefixes registration tokens, host names
    /// and boot IDs, and seeds the status-update UUIDs.
    public let runNonce: UInt64
    /// The version agents report.
    public var version = "simulated"
    /// Unix time (seconds) at the fleet's `now == .zero`; stamps status updates.
    public var startedAtUnixSeconds: Double = 0
    /// Registration retry backoff, as a real agent's (`AgentConfiguration.registrationBackoff`).
    public var registrationBackoff: ClosedRange<Duration> = .seconds(2) ... .seconds(30)
    /// Status-update retry backoff, as a real agent's (`AgentConfiguration.statusUpdateBackoff`).
    public var statusUpdateBackoff: ClosedRange<Duration> = .seconds(10) ... .seconds(600)

    /// - Throws: `SimulationError` with `invalidOptions` when a count is out of range
    ///   or the resources are empty.
    public init(agentCount: Int, connectionCount: Int, resources: Resources, runNonce: UInt64) throws(SimulationError) {
        guard agentCount >= 1 else {
            throw SimulationError(.invalidOptions, "--agents must be at least 1 (got \(agentCount))")
        }
        guard connectionCount >= 1 else {
            throw SimulationError(.invalidOptions, "--connections must be at least 1 (got \(connectionCount))")
        }
        guard !resources.isEmpty else {
            throw SimulationError(.invalidOptions, "the agents' resources are empty; give e.g. cpus:16;mem:65536")
        }
        self.agentCount = agentCount
        self.connectionCount = min(connectionCount, agentCount)
        self.resources = resources
        self.runNonce = runNonce
    }

    /// The registration token of agent `index`, unique per simulator run.
    func token(of index: Int) -> String {
        "sim-\(String(runNonce, radix: 16))-\(index)"
    }

    /// The host name agent `index` reports.
    func hostname(of index: Int) -> String {
        "sim-\(index).agora.invalid"
    }

    var bootID: String { "sim-boot-\(String(runNonce, radix: 16))" }
}
