import Foundation
import Glibc

@testable import Agent

/// Temporary directories and polling helpers for the containerizer tests.
enum ContainerizerTestSupport {
    /// A fresh directory under the system temp directory.
    static func makeTemporaryDirectory(_ label: String = #function) throws -> String {
        let name = label.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "agora-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    static func eventually(within timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// Whether `pid` no longer runs: gone (`ESRCH`) or a zombie waiting for its new parent.
    static func isGone(_ pid: pid_t) -> Bool {
        if kill(pid, 0) == -1, errno == ESRCH { return true }
        let stat = read("/proc/\(pid)/stat")
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }
}
