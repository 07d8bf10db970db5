import Foundation
import Glibc

@testable import Agent
@testable import BuiltInExecutor
import ProcessSupervision

/// Real servers on loopback for the fetcher and health-check tests.
enum NetworkTestSupport {
    /// A port nothing listens on right now (bound to port 0, then closed).
    static func unusedPort() throws -> Int {
        let listener = try SilentListener()
        return listener.port
    }

    /// Polls until something accepts connections on 127.0.0.1:`port`.
    static func waitForListener(port: Int, timeout: Duration = .seconds(15)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? TCPConnection.connect(host: "127.0.0.1", port: port, deadline: .total(.milliseconds(200)))) != nil {
                return true
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

/// `python3 -m http.server` serving a directory on loopback, stopped by `stop()`.
struct PythonHTTPServer {
    let port: Int
    let pid: pid_t

    static func start(serving directory: String) async throws -> PythonHTTPServer {
        let port = try NetworkTestSupport.unusedPort()
        let pid = try ChildProcessMonitor.shared.spawn(SpawnSpec(
            command: "python3", arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory],
            environment: ["PATH": Sandbox.defaultPath], stdoutPath: "/dev/null", stderrPath: "/dev/null"))
        let server = PythonHTTPServer(port: port, pid: pid)
        guard await NetworkTestSupport.waitForListener(port: port) else {
            await server.stop()
            throw NetworkError("python3 -m http.server did not listen on port \(port)")
        }
        return server
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        _ = await KillPolicy.terminate(processGroup: pid, gracePeriod: .zero)
    }
}

/// A socket that listens but never accepts or answers: connections complete (the
/// kernel queues them), requests go unanswered.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && listen(fd, 16) == 0
                    && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw NetworkError("cannot listen on loopback: \(reason)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
