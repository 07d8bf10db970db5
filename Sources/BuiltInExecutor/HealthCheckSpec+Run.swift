import Glibc
import ProcessSupervision

extension HealthCheckSpec.Probe {
    /// Runs one check, which fails when it takes longer than `timeout`.
    func run(timeout: Duration, monitor: ChildProcessMonitor = .shared) async -> HealthCheckOutcome {
        switch self {
        case .http(let port, let path, let statuses):
            let target = PlainHTTPClient.Target(host: "127.0.0.1", port: port, path: path)
            do {
                let head = try await BlockingIO.run { try PlainHTTPClient.get(target, deadline: .total(timeout)) }
                let healthy = statuses.isEmpty ? (200..<400).contains(head.status) : statuses.contains(head.status)
                return healthy ? .healthy : .unhealthy("\(self) returned \(head.status)")
            } catch {
                return .unhealthy("\(self) on port \(port) failed: \(error)")
            }
        case .tcp(let port):
            do {
                try await BlockingIO.run { _ = try TCPConnection.connect(host: "127.0.0.1", port: port, deadline: .total(timeout)) }
                return .healthy
            } catch {
                return .unhealthy("\(error)")
            }
        case .command(let spec):
            let pid: pid_t
            do {
                pid = try monitor.spawn(spec)
            } catch {
                return .unhealthy("\(self) could not start: \(error)")
            }
            guard let status = await monitor.waitForExit(pid, timeout: timeout) else {
                _ = await KillPolicy.terminate(processGroup: pid, gracePeriod: .zero, monitor: monitor)
                return .unhealthy("\(self) timed out after \(timeout)")
            }
            // Nothing the check started may outlive it.
            kill(-pid, SIGKILL)
            return status.isSuccess ? .healthy : .unhealthy("\(self) \(status)")
        }
    }
}
