/// Turns user-facing addresses into ZeroMQ endpoint strings.
public enum ZeroMQAddress {
    /// The ZeroMQ endpoint for `address`, which may be `HOST:PORT`, `tcp://HOST:PORT`
    /// or `ipc://PATH`. Port `0` becomes ZeroMQ's wildcard `*` so that binding picks a
    /// free port (read the real one back from the endpoint's `localAddress`).
    public static func endpoint(for address: String) throws(MessagingError) -> String {
        let trimmed = address.trimmingWhitespace()
        if trimmed.hasPrefix("ipc://") || trimmed.hasPrefix("inproc://") {
            guard trimmed.count > 6 else { throw invalid(address, "the path is empty") }
            return trimmed
        }
        let hostPort = trimmed.hasPrefix("tcp://") ? String(trimmed.dropFirst(6)) : trimmed
        guard let colon = hostPort.lastIndex(of: ":") else {
            throw invalid(address, "expected HOST:PORT, tcp://HOST:PORT or ipc://PATH")
        }
        let host = hostPort[..<colon]
        let portText = hostPort[hostPort.index(after: colon)...]
        guard !host.isEmpty else { throw invalid(address, "the host is empty") }
        if portText == "*" { return "tcp://\(host):*" }
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw invalid(address, "\"\(portText)\" is not a port number (0-65535)")
        }
        return port == 0 ? "tcp://\(host):*" : "tcp://\(host):\(port)"
    }

    private static func invalid(_ address: String, _ reason: String) -> MessagingError {
        MessagingError(.invalidAddress, "invalid address \"\(address)\": \(reason)")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
