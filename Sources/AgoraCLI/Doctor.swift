import Agent
import AgoraProto
import ArgumentParser
import Foundation
import Messaging
import Resources

/// `agora doctor`: what this host would offer as an agent, and whether messaging works.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what this host would offer as an agent and check Agora's messaging.",
        discussion: """
            Detects cpus, memory, disk and ports the way `agora agent` will, applies \
            --resources overrides, reports which cgroup version can enforce limits, and \
            sends one envelope around a loopback ZeroMQ connection.
            """
    )

    @Option(help: "Directory whose filesystem provides the disk resource.")
    var workDir: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Resource overrides, e.g. \"cpus:4;mem:8192;ports:[31000-32000]\".")
    var resources: String?

    @Option(help: "Agent attributes, e.g. \"rack:r1;zone:a\".")
    var attributes: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() async throws {
        let overrides = try parse { () throws(ResourceParseError) in try Resources(parsing: resources ?? "") }
        let parsedAttributes = try parse { () throws(ResourceParseError) in try Attributes(parsing: attributes ?? "") }
        let host: HostFacts
        do {
            host = try HostFacts.read(workDirectory: workDir)
        } catch {
            throw ValidationError("\(error)")
        }
        let offered = ResourceDetector.resources(detected: ResourceDetector.defaults(for: host), overrides: overrides)
        let cgroups = CgroupLayout.detect()
        let roundTrip = await Self.messagingRoundTrip()

        if json {
            var report: [String: Any] = [
                "version": AgoraVersion.current,
                "resources": offered.description,
                "attributes": parsedAttributes.description,
                "host": ["cpus": host.cpus, "memory_bytes": host.memoryBytes, "disk_bytes": host.diskBytes],
                "cgroups": cgroups.enforcingVersion?.rawValue ?? "none",
                "libzmq": ZeroMQLibrary.version,
                "messaging_round_trip_ok": roundTrip.ok,
                "messaging_round_trip_microseconds": roundTrip.microseconds,
            ]
            if let error = roundTrip.error { report["messaging_error"] = error }
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let enforcement = switch cgroups.enforcingVersion {
            case .v1: "cgroup v1 (cpu and memory limits enforced per task)"
            case .v2: "cgroup v2 (cpu and memory limits enforced per task)"
            case nil: "none: tasks will run in process groups without cpu or memory limits"
            }
            print("""
                agora \(AgoraVersion.current)
                resources:  \(offered)
                attributes: \(parsedAttributes.isEmpty ? "(none)" : parsedAttributes.description)
                host:       \(host.cpus) cpus, \(host.memoryBytes / 1_048_576) MB memory, \(host.diskBytes / 1_048_576) MB disk at \(workDir)
                isolation:  \(enforcement)
                libzmq:     \(ZeroMQLibrary.version)\(ZeroMQLibrary.hasCurve ? " (CURVE available)" : "")
                messaging:  \(roundTrip.ok ? "loopback connect and round trip in \(roundTrip.microseconds) µs" : "FAILED: \(roundTrip.error ?? "unknown error")")
                """)
        }
        if !roundTrip.ok { throw ExitCode.failure }
    }

    private func parse<T>(_ body: () throws(ResourceParseError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Sends one envelope from a DEALER to a ROUTER and back over loopback TCP.
    private static func messagingRoundTrip() async -> (ok: Bool, microseconds: Int, error: String?) {
        do {
            let router = try RouterEndpoint(binding: "tcp://127.0.0.1:0")
            let dealer = try DealerEndpoint(connectingTo: router.localAddress, identity: PeerID("doctor"))
            defer { Task { await dealer.shutdown(); await router.shutdown() } }
            var ping = Agora_V1_Envelope()
            ping.ping.sequence = 1
            let clock = ContinuousClock()
            let start = clock.now
            try await dealer.send(ping)
            var routerMessages = router.messages.makeAsyncIterator()
            guard let request = await routerMessages.next() else { return (false, 0, "the router closed") }
            var pong = Agora_V1_Envelope()
            pong.pong.sequence = request.envelope.ping.sequence
            try await router.send(pong, to: request.peer)
            var dealerMessages = dealer.messages.makeAsyncIterator()
            guard let reply = await dealerMessages.next(), reply.pong.sequence == 1 else {
                return (false, 0, "no pong came back")
            }
            let elapsed = (clock.now - start).components
            return (true, Int(elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000), nil)
        } catch {
            return (false, 0, "\(error)")
        }
    }
}
