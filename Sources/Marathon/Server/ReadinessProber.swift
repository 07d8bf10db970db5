import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs apps' readiness checks: an HTTP GET on the task's port, from the scheduler,
/// as Marathon does. At most one probe per task is in flight; each task is probed no
/// more often than its check's interval.
struct ReadinessProber {
    struct Probe: Sendable {
        let taskID: String
        let url: URL
        let timeoutSeconds: Double
        let readyStatuses: Set<Int>
    }

    private var lastProbeAt: [String: Date] = [:]
    private var inFlight: Set<String> = []

    /// Whether `taskID` is due for a probe at `now`; marks it in flight if so.
    mutating func claim(_ taskID: String, intervalSeconds: Double, now: Date) -> Bool {
        guard !inFlight.contains(taskID) else { return false }
        if let last = lastProbeAt[taskID], now.timeIntervalSince(last) < intervalSeconds { return false }
        inFlight.insert(taskID)
        lastProbeAt[taskID] = now
        return true
    }

    mutating func finished(_ taskID: String) {
        inFlight.remove(taskID)
    }

    /// Forgets tasks that no longer need probing.
    mutating func retain(_ taskIDs: Set<String>) {
        lastProbeAt = lastProbeAt.filter { taskIDs.contains($0.key) }
    }

    /// Performs one probe: ready when the answer's status is one of `readyStatuses`.
    static func run(_ probe: Probe) async -> Bool {
        var request = URLRequest(url: probe.url)
        request.timeoutInterval = probe.timeoutSeconds
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            guard let status = (response as? HTTPURLResponse)?.statusCode else { return false }
            return probe.readyStatuses.contains(status)
        } catch {
            return false
        }
    }
}
