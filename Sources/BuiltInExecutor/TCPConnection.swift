import Foundation
import Glibc

/// A TCP connection over POSIX sockets whose every wait (connect, read, write) is
/// bounded, for the built-in executor's health checks and URI fetcher.
///
/// Blocking: call it off the Swift concurrency pool (see ``BlockingIO``).
final class TCPConnection {
    private let fd: Int32
    /// `host:port`, for messages.
    let peer: String

    private init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    deinit { close(fd) }

    /// Connects to `host` (a name or an address) on `port`, trying each address the
    /// name resolves to, and gives up at `deadline`.
    static func connect(host: String, port: Int, deadline: IODeadline) throws(NetworkError) -> TCPConnection {
        let peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard (1...65_535).contains(port) else { throw NetworkError("\(port) is not a TCP port") }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw NetworkError("cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = NetworkError("no address for \(host)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            do {
                return try connect(to: address.pointee, peer: peer, deadline: deadline)
            } catch {
                lastError = error
                if deadline.hasPassed { break }
            }
        }
        throw lastError
    }

    private static func connect(to address: addrinfo, peer: String, deadline: IODeadline) throws(NetworkError) -> TCPConnection {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(address.ai_family, type, 0)
        guard fd >= 0 else { throw NetworkError("cannot open a socket: \(String(cString: strerror(errno)))") }
        let connection = TCPConnection(fd: fd, peer: peer)
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                throw NetworkError("connection to \(peer) failed: \(String(cString: strerror(errno)))")
            }
            try connection.wait(for: Int16(POLLOUT), deadline: deadline, doing: "connecting to \(peer)")
            var failure: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size)
            guard failure == 0 else {
                throw NetworkError("connection to \(peer) failed: \(String(cString: strerror(failure)))")
            }
        }
        return connection
    }

    /// Sends all of `bytes`.
    func write(_ bytes: [UInt8], deadline: IODeadline) throws(NetworkError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 {
                sent += count
            } else if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(for: Int16(POLLOUT), deadline: deadline, doing: "sending to \(peer)")
            } else {
                throw NetworkError("sending to \(peer) failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Reads what is available (waiting for something) into `buffer`; 0 at the end
    /// of the stream.
    func read(into buffer: inout [UInt8], deadline: IODeadline) throws(NetworkError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return count }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw NetworkError("reading from \(peer) failed: \(String(cString: strerror(errno)))")
            }
            try wait(for: Int16(POLLIN), deadline: deadline, doing: "waiting for \(peer)")
        }
    }

    private func wait(for events: Int16, deadline: IODeadline, doing activity: String) throws(NetworkError) {
        while true {
            let milliseconds = deadline.millisecondsToWait()
            guard milliseconds > 0 else { throw NetworkError("timed out \(activity) after \(deadline.limitDescription)") }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0, errno != EINTR {
                throw NetworkError("\(activity) failed: \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// How long network waits may take: each single wait at most `idle`, and all of
/// them together end at `overall` when it is set.
struct IODeadline: Sendable {
    let idle: Duration
    let overall: ContinuousClock.Instant?
    private let overallLimit: Duration?

    /// Every wait, and the whole exchange, within `timeout` from now (health checks).
    static func total(_ timeout: Duration) -> IODeadline {
        IODeadline(idle: timeout, overall: .now + timeout, overallLimit: timeout)
    }

    /// Each wait within `timeout`, however long the whole exchange takes (downloads).
    static func idle(_ timeout: Duration) -> IODeadline {
        IODeadline(idle: timeout, overall: nil, overallLimit: nil)
    }

    var hasPassed: Bool { overall.map { ContinuousClock.now >= $0 } ?? false }

    /// The next wait's limit in milliseconds; 0 when the overall deadline has passed.
    func millisecondsToWait() -> Int32 {
        var limit = idle
        if let overall { limit = min(limit, overall - .now) }
        guard limit > .zero else { return 0 }
        let (seconds, attoseconds) = limit.components
        return Int32(clamping: max(1, seconds * 1_000 + attoseconds / 1_000_000_000_000_000))
    }

    var limitDescription: String { "\(overallLimit ?? idle)" }
}

/// A network operation failed; `description` says which and why.
struct NetworkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work (sockets, child processes waited on synchronously) on a
/// dispatch queue, so the Swift concurrency pool never blocks.
enum BlockingIO {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
