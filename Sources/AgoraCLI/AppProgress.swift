import Dispatch
import Foundation

/// The one-line progress display of a deployment, with no I/O.
enum DeploymentProgressLine {
    /// Characters between the brackets of the bar.
    static let barWidth = 20

    /// `[#########-----------] /web 2/5 healthy  running 3  staged 1  (deployment 3f2a1b2c…)`.
    ///
    /// The bar fills with healthy instances out of the target (as counted by the server,
    /// which counts an instance without health checks as healthy once it runs); a
    /// deployment to zero instances (a removal or scale to 0) fills once nothing runs or is staged.
    static func render(_ status: DeploymentStatusView, appID: String) -> String {
        let target = max(0, status.target ?? 0)
        let healthy = max(0, status.healthy ?? 0)
        let running = max(0, status.running ?? 0)
        let staged = max(0, status.staged ?? 0)
        let fraction: Double
        if target > 0 {
            fraction = min(1, Double(healthy) / Double(target))
        } else {
            fraction = running + staged == 0 ? 1 : 0
        }
        let filled = min(barWidth, Int((fraction * Double(barWidth)).rounded(.down)))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
        let app = status.appId ?? appID
        let counts = target > 0 ? "\(app) \(healthy)/\(target) healthy" : "\(app) " + (running + staged == 0 ? "stopped" : "stopping")
        return "\(bar) \(counts)  running \(running)  staged \(staged)  (deployment \(AppFormat.shortID(status.id)))"
    }

    /// The closing sentence once the deployment has ended.
    static func outcome(_ status: DeploymentStatusView, appID: String) -> String {
        let app = status.appId ?? appID
        let reason = status.reason.flatMap { $0.isEmpty ? nil : $0 } ?? "the server gave no reason"
        switch status.status {
        case "succeeded":
            let target = status.target ?? 0
            let detail = target > 0 ? "\(app) \(status.healthy ?? 0)/\(target) healthy" : "\(app) has no instances left"
            return "deployment \(status.id) succeeded: \(detail)"
        case "failed":
            return "deployment \(status.id) of \(app) failed: \(reason)"
        case "canceled":
            return "deployment \(status.id) of \(app) was canceled: \(reason)"
        default:
            return "deployment \(status.id) of \(app) ended as \(status.status)" + (status.reason.map { ": \($0)" } ?? "")
        }
    }
}

/// Follows a deployment through `GET /agora/v1/deployments/{id}` until it ends,
/// drawing its progress on standard output.
struct DeploymentWaiter: Sendable {
    let client: MarathonClient
    /// Draw nothing while waiting (the caller prints JSON at the end).
    let quiet: Bool
    var pollInterval: Duration = .milliseconds(300)
    /// How long a deployment the server does not know yet (404) is retried.
    var unknownGracePeriod: Duration = .seconds(5)
    /// Consecutive connection failures tolerated before giving up.
    var connectionRetries = 10

    /// Polls until the deployment's status is no longer `running`; returns the final
    /// status with the server's raw JSON. Ctrl-C stops waiting (exit 130) and leaves
    /// the deployment alone.
    func wait(for deploymentID: String, appID: String) async throws(AppCommandError) -> (DeploymentStatusView, HTTPReply) {
        let terminal = isatty(STDOUT_FILENO) != 0
        let interrupt = StopWaitingOnInterrupt(deploymentID: deploymentID, redrawing: terminal && !quiet)
        defer { interrupt.cancel() }

        let path = "/agora/v1/deployments/" + MarathonClient.encodedPath(deploymentID)
        let clock = ContinuousClock()
        var firstNotFound: ContinuousClock.Instant?
        var failures = 0
        var lastLine: String?
        func finishLine() {
            if terminal, lastLine != nil, !quiet { FileHandle.standardOutput.write(Data("\n".utf8)) }
        }
        while true {
            let reply: HTTPReply
            do {
                reply = try await client.send("GET", path)
                failures = 0
            } catch {
                failures += 1
                if failures > connectionRetries {
                    finishLine()
                    throw error
                }
                try? await Task.sleep(for: pollInterval)
                continue
            }
            if reply.status == 404 {
                let now = clock.now
                let since = firstNotFound ?? now
                firstNotFound = since
                if since.duration(to: now) > unknownGracePeriod {
                    finishLine()
                    throw .failure("the server does not know deployment \(deploymentID): "
                        + MarathonErrorText.describe(status: reply.status, body: reply.body))
                }
                try? await Task.sleep(for: pollInterval)
                continue
            }
            guard reply.status == 200 else {
                finishLine()
                throw .failure("cannot follow deployment \(deploymentID): "
                    + MarathonErrorText.describe(status: reply.status, body: reply.body))
            }
            let status = try MarathonClient.decode(DeploymentStatusView.self, from: reply, what: "a deployment status")
            if !quiet {
                let line = DeploymentProgressLine.render(status, appID: appID)
                if line != lastLine {
                    if terminal {
                        // Redrawing in place only works while the line fits the terminal.
                        let shown = Self.terminalColumns().map { AppFormat.truncated(line, to: $0 - 1) } ?? line
                        FileHandle.standardOutput.write(Data(("\r" + shown + "\u{1B}[K").utf8))
                    } else {
                        emitLine(line)
                    }
                    lastLine = line
                }
            }
            if status.isFinished {
                finishLine()
                return (status, reply)
            }
            try? await Task.sleep(for: pollInterval)
        }
    }
}

extension DeploymentWaiter {
    /// The width of the terminal on standard output, when it reports one.
    fileprivate static func terminalColumns() -> Int? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 10 else { return nil }
        return Int(size.ws_col)
    }
}

/// While alive, turns Ctrl-C (and SIGTERM) into "stop waiting": ends the progress line,
/// says the deployment goes on, and exits with 130. `cancel()` restores the default.
private final class StopWaitingOnInterrupt {
    private let sources: [any DispatchSourceSignal]

    init(deploymentID: String, redrawing: Bool) {
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler {
                if redrawing { FileHandle.standardOutput.write(Data("\n".utf8)) }
                FileHandle.standardError.write(Data(
                    "stopped waiting; deployment \(deploymentID) goes on (`agora app deployments` lists it)\n".utf8))
                exit(130)
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
