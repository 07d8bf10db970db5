import Foundation

/// A small HTTP/1.1 client over ``TCPConnection`` for the built-in executor: plain
/// `http` GETs only (HTTP health checks and URI downloads), with `Content-Length`,
/// chunked and read-to-close bodies. Blocking: call it through ``BlockingIO``.
enum PlainHTTPClient {
    /// Where a request goes.
    struct Target: Sendable, Equatable {
        var host: String
        var port: Int
        /// Path and query, starting with `/`.
        var path: String

        /// An `http://` URL as a target; anything else is refused with a reason.
        init(url: URL) throws(NetworkError) {
            guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
                throw NetworkError("\(url.absoluteString) is not a valid URL")
            }
            let scheme = components.scheme?.lowercased() ?? ""
            if scheme == "https" {
                throw NetworkError("https is not supported by the built-in executor's fetcher; use http, a file:// URL, or a custom executor")
            }
            guard scheme == "http" else { throw NetworkError("\(url.absoluteString) is not an http URL") }
            guard var host = components.host, !host.isEmpty else { throw NetworkError("\(url.absoluteString) names no host") }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.host = host
            port = components.port ?? 80
            let query = components.percentEncodedQuery.map { "?" + $0 } ?? ""
            path = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath) + query
        }

        init(host: String, port: Int, path: String) {
            self.host = host
            self.port = port
            self.path = path.hasPrefix("/") ? path : "/" + path
        }

        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == 80 ? name : "\(name):\(port)"
        }
    }

    /// A response's status line and headers (names lowercased).
    struct ResponseHead: Sendable, Equatable {
        var status: Int
        var headers: [String: String]
    }

    /// Reads a response's body, chunk by chunk.
    typealias BodySink = (ArraySlice<UInt8>) throws -> Void

    /// Sends a GET and reads the response head, then asks `bodySink` what to do with
    /// the body: the sink it returns receives the body; with nil the connection is
    /// closed without reading it.
    static func get(_ target: Target, deadline: IODeadline,
                    bodySink: (ResponseHead) throws -> BodySink? = { _ in nil }) throws -> ResponseHead {
        let connection = try TCPConnection.connect(host: target.host, port: target.port, deadline: deadline)
        let request = "GET \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUser-Agent: agora-executor\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n"
        try connection.write(Array(request.utf8), deadline: deadline)
        var reader = ResponseReader(connection: connection, deadline: deadline)
        let head = try reader.readHead()
        guard let body = try bodySink(head) else { return head }
        if head.status == 204 || head.status == 304 || (100..<200).contains(head.status) { return head }
        if head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            try reader.readChunked(into: body)
        } else if let declared = head.headers["content-length"] {
            guard let length = Int(declared.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                throw NetworkError("\(connection.peer) sent an invalid Content-Length \(declared.debugDescription)")
            }
            try reader.read(exactly: length, into: body)
        } else {
            try reader.readToEnd(into: body)
        }
        return head
    }

    /// GETs `url` following up to `maxRedirects` redirects (301, 302, 303, 307, 308).
    /// A 2xx body streams into `body`; any other final status is returned unread.
    /// Returns the final response head and URL.
    static func get(following url: URL, maxRedirects: Int, deadline: IODeadline,
                    body: @escaping BodySink) throws -> (head: ResponseHead, url: URL) {
        var current = url
        for _ in 0...maxRedirects {
            let head = try get(try Target(url: current), deadline: deadline) { head in
                (200..<300).contains(head.status) ? body : nil
            }
            guard isRedirect(head.status) else { return (head, current) }
            guard let location = head.headers["location"],
                  let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                throw NetworkError("\(current.absoluteString) answered \(head.status) without a valid Location")
            }
            current = next
        }
        throw NetworkError("\(url.absoluteString) redirected more than \(maxRedirects) times")
    }

    static func isRedirect(_ status: Int) -> Bool {
        [301, 302, 303, 307, 308].contains(status)
    }
}

/// Reads an HTTP/1.1 response from a connection through one buffer.
private struct ResponseReader {
    let connection: TCPConnection
    let deadline: IODeadline
    private var buffer: [UInt8] = []
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1_024)
    private static let maxHeadBytes = 64 * 1_024

    init(connection: TCPConnection, deadline: IODeadline) {
        self.connection = connection
        self.deadline = deadline
    }

    private var available: Int { buffer.count - start }

    /// Reads more from the connection; false at the end of the stream.
    private mutating func fill() throws(NetworkError) -> Bool {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        let count = try connection.read(into: &scratch, deadline: deadline)
        guard count > 0 else { return false }
        buffer.append(contentsOf: scratch[..<count])
        return true
    }

    private mutating func readLine(limit: Int) throws(NetworkError) -> String {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            guard available < limit else { throw NetworkError("\(connection.peer) sent a line longer than \(limit) bytes") }
            guard try fill() else { throw NetworkError("\(connection.peer) closed the connection mid-response") }
        }
    }

    mutating func readHead() throws(NetworkError) -> PlainHTTPClient.ResponseHead {
        let statusLine = try readLine(limit: Self.maxHeadBytes)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw NetworkError("\(connection.peer) did not answer with HTTP (got \(statusLine.prefix(80).debugDescription))")
        }
        var headers: [String: String] = [:]
        var headBytes = statusLine.utf8.count
        while true {
            let line = try readLine(limit: Self.maxHeadBytes)
            headBytes += line.utf8.count
            guard headBytes < Self.maxHeadBytes else {
                throw NetworkError("\(connection.peer) sent more than \(Self.maxHeadBytes) bytes of headers")
            }
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return .init(status: status, headers: headers)
    }

    mutating func read(exactly count: Int, into sink: (ArraySlice<UInt8>) throws -> Void) throws {
        var remaining = count
        while remaining > 0 {
            if available == 0, !(try fill()) {
                throw NetworkError("\(connection.peer) closed the connection \(remaining) bytes before the end of the body")
            }
            let take = min(remaining, available)
            try sink(buffer[start..<(start + take)])
            start += take
            remaining -= take
        }
    }

    mutating func readToEnd(into sink: (ArraySlice<UInt8>) throws -> Void) throws {
        repeat {
            if available > 0 { try sink(buffer[start...]) }
            start = buffer.count
        } while try fill()
    }

    mutating func readChunked(into sink: (ArraySlice<UInt8>) throws -> Void) throws {
        while true {
            let sizeLine = try readLine(limit: 1_024)
            let sizeText = sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw NetworkError("\(connection.peer) sent an invalid chunk size \(sizeLine.prefix(40).debugDescription)")
            }
            if size == 0 { break }
            try read(exactly: size, into: sink)
            _ = try readLine(limit: 2)
        }
        // Trailers, up to the empty line that ends the message.
        while !(try readLine(limit: Self.maxHeadBytes)).isEmpty {}
    }
}
