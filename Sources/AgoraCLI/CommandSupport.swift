import ArgumentParser
import Foundation
import Logging

/// A duration flag: `500ms`, `5s`, `2m`, `1h`, or a plain number of seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600)]
        var number = text
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = String(text.dropLast(suffix.count))
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        duration = .milliseconds(Int64((value * scale * 1_000).rounded()))
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// The master address as flags accept it: `HOST:PORT` or `tcp://HOST:PORT`.
func masterEndpoint(_ text: String) throws -> String {
    let address = text.hasPrefix("tcp://") ? String(text.dropFirst(6)) : text
    guard let colon = address.lastIndex(of: ":"), !address[..<colon].isEmpty,
          let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port) else {
        throw ValidationError("invalid master address \"\(text)\": expected HOST:PORT or tcp://HOST:PORT, e.g. 127.0.0.1:5050")
    }
    return "tcp://" + address
}

/// Sends logs to standard error at `level` (daemons keep standard output for the ready
/// line), in batches: see `BufferedLogOutput`.
func bootstrapLogging(level: String) throws {
    guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
        throw ValidationError("invalid log level \"\(level)\": use trace, debug, info, notice, warning, error or critical")
    }
    LoggingSystem.bootstrap { label in
        var handler = BufferedLogHandler(label: label)
        handler.logLevel = parsed
        return handler
    }
}

/// Prints the daemon's one-line JSON readiness signal and flushes it at once, after the
/// log lines before it.
func printReadyLine(_ fields: [String: Any]) {
    BufferedLogOutput.standardError.flush()
    var object = fields
    object["ready"] = true
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// This host's name as other hosts should see it.
func localHostname() -> String {
    ProcessInfo.processInfo.hostName
}

/// Where to reach a service bound to `ip`: the host name when bound to all interfaces.
func advertisedHost(boundIP ip: String, override: String?) -> String {
    if let override, !override.isEmpty { return override }
    return ip == "0.0.0.0" || ip == "*" ? localHostname() : ip
}

/// The path of the running `agora` executable; agents start `agora-executor` from its directory.
func currentExecutablePath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Makes `path` an existing directory, or explains why it cannot be.
func prepareWorkDirectory(_ path: String) throws -> String {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    do {
        try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
    } catch {
        throw ValidationError("cannot use --work-dir \(path): \(error.localizedDescription)")
    }
    return absolute
}

/// Writes one line to standard output unbuffered, so pipes see it at once.
func emitLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
