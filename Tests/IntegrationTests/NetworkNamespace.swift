import Foundation
import Testing

/// A uniquely named network namespace joined to the root namespace by a veth pair:
/// `hostInterface` (root namespace, `hostAddress`/30) and `namespaceInterface`
/// (inside the namespace, `namespaceAddress`/30). `cut()` takes the host side down,
/// which drops all traffic between the two sides while both addresses stay usable
/// locally; `restore()` brings it back. Use `with(_:)`, which always removes what it
/// created, whether the body succeeds or throws.
final class NetworkNamespace: Sendable {
    let name: String
    let hostInterface: String
    let namespaceInterface: String
    let hostAddress: String
    let namespaceAddress: String

    private init(suffix: String, subnet: Int) {
        name = "agora-pt-\(suffix)"
        // Interface names are limited to 15 characters.
        hostInterface = "apth\(suffix)"
        namespaceInterface = "aptn\(suffix)"
        hostAddress = "10.200.\(subnet).1"
        namespaceAddress = "10.200.\(subnet).2"
    }

    /// Creates a namespace and its veth pair, runs `body`, and removes both again.
    static func with<T>(_ body: (NetworkNamespace) async throws -> T) async throws -> T {
        let suffix = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8))
        let namespace = NetworkNamespace(suffix: suffix, subnet: try freeSubnet())
        do {
            try namespace.create()
            let result = try await body(namespace)
            namespace.remove()
            return result
        } catch {
            namespace.remove()
            throw error
        }
    }

    private func create() throws {
        try Self.ip(["netns", "add", name])
        try Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", namespaceInterface])
        try Self.ip(["link", "set", namespaceInterface, "netns", name])
        try Self.ip(["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
        try Self.ip(["link", "set", hostInterface, "up"])
        try Self.ip(["-n", name, "addr", "add", "\(namespaceAddress)/30", "dev", namespaceInterface])
        try Self.ip(["-n", name, "link", "set", namespaceInterface, "up"])
        try Self.ip(["-n", name, "link", "set", "lo", "up"])
    }

    /// Removes the veth pair and the namespace. Processes still inside the namespace
    /// were all started by the test that owns it (its agent, executors and tasks), so
    /// any left over are killed by PID first; errors are ignored (best effort, and
    /// parts may not exist when creation failed half-way).
    private func remove() {
        for pid in (try? pids()) ?? [] { kill(pid, SIGKILL) }
        if (try? Self.ip(["link", "show", hostInterface])) != nil {
            _ = try? Self.ip(["link", "del", hostInterface])
        }
        _ = try? Self.ip(["netns", "del", name])
    }

    /// Drops all traffic between the namespace and the root namespace.
    func cut() throws {
        try Self.ip(["link", "set", hostInterface, "down"])
    }

    /// Undoes `cut()`.
    func restore() throws {
        try Self.ip(["link", "set", hostInterface, "up"])
    }

    /// The `ip` executable and the arguments that run `executable ARGUMENTS…` inside
    /// the namespace (`ip netns exec` replaces itself with the program, so the
    /// started process's PID is the program's own).
    func exec(_ executable: URL, _ arguments: [String]) -> (executable: URL, arguments: [String]) {
        (Self.ipURL, ["netns", "exec", name, executable.path] + arguments)
    }

    /// PIDs of the processes inside the namespace.
    func pids() throws -> [Int32] {
        try Self.ip(["netns", "pids", name]).split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// How many processes inside the namespace run exactly `argv`.
    func processCount(argv: [String]) throws -> Int {
        try pids().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let parts = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            return Array(parts.last == "" ? parts.dropLast() : parts[...]) == argv
        }.count
    }

    // MARK: - Commands

    static let ipURL: URL = {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: directory + "/ip") {
            return URL(fileURLWithPath: directory + "/ip")
        }
        return URL(fileURLWithPath: "/usr/sbin/ip")
    }()

    /// Runs `ip ARGUMENTS…`; throws with the command line and its stderr when it fails.
    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        try run(ipURL, arguments)
    }

    @discardableResult
    static func run(_ executable: URL, _ arguments: [String]) throws -> String {
        let commandLine = ([executable.path] + arguments).joined(separator: " ")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        // stderr goes to a file, so that a full pipe can never block the child while
        // stdout is read to its end.
        let errorPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("agora-netns-\(UUID().uuidString.prefix(8)).err").path
        guard FileManager.default.createFile(atPath: errorPath, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: errorPath) else {
            throw NetworkNamespaceError("cannot create \(errorPath) for `\(commandLine)`")
        }
        defer {
            try? errorHandle.close()
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = errorHandle
        do {
            try process.run()
        } catch {
            throw NetworkNamespaceError("cannot start `\(commandLine)`: \(error)")
        }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = ((try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw NetworkNamespaceError("`\(commandLine)` failed with status \(process.terminationStatus): \(message)")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A /30 in 10.200.0.0/16 that no interface of the root namespace uses yet.
    private static func freeSubnet() throws -> Int {
        let addresses = try ip(["-o", "-4", "addr", "show"])
        let used = Set((1...254).filter { addresses.contains(" 10.200.\($0).") })
        guard let subnet = (1...254).filter({ !used.contains($0) }).randomElement() else {
            throw NetworkNamespaceError("no free 10.200.X.0/30 subnet")
        }
        return subnet
    }

    // MARK: - Support

    /// Why namespace tests cannot run here, or nil when they can: they need root and
    /// a working `ip netns add` (checked by creating and deleting a probe namespace).
    static let unavailableReason: String? = {
        if getuid() != 0 { return "needs root to create network namespaces" }
        guard FileManager.default.isExecutableFile(atPath: ipURL.path) else { return "no `ip` command (iproute2)" }
        let probe = "agora-probe-\(UUID().uuidString.lowercased().prefix(8))"
        do {
            try ip(["netns", "add", probe])
        } catch {
            return "`ip netns add` is not possible here: \(error)"
        }
        _ = try? ip(["netns", "del", probe])
        return nil
    }()

    static var available: Bool { unavailableReason == nil }

    static var reason: Comment {
        if let unavailableReason {
            print("PartitionTests skipped: \(unavailableReason)")
            return Comment(rawValue: "skipped: \(unavailableReason)")
        }
        return "network namespaces available"
    }
}

struct NetworkNamespaceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
