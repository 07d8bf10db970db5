import AgoraProto
import Foundation
import Logging
import Messaging
import Resources
import Synchronization
import Testing

@testable import Master

/// A registry that accepts `acceptedBatches` batches, then fails every write.
private final class FailingRegistry: Registry {
    private let accepted: Mutex<Int>

    init(acceptedBatches: Int) {
        accepted = Mutex(acceptedBatches)
    }

    func recover() throws -> RegistrySnapshot { RegistrySnapshot() }

    func apply(_ changes: [RegistryChange]) throws {
        try accepted.withLock { remaining in
            guard remaining > 0 else { throw RegistryError(.writeFailed, "cannot write the registry: disk full (test)") }
            remaining -= 1
        }
    }
}

/// The shell's rule: nothing is sent that depends on a registry write that failed.
@Suite(.timeLimit(.minutes(1)))
struct RegistryWriteFailureTests {
    private static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    private static func configuration() -> MasterConfiguration {
        MasterConfiguration(runID: "wf", hostname: "127.0.0.1", advertisedAddress: "", version: "test",
                            startedAtUnixSeconds: Date().timeIntervalSince1970)
    }

    @Test func aMasterThatCannotStoreAnAgentStopsWithoutAdmittingIt() async throws {
        // The recovery batch is stored; the agent's admission is not.
        let master = try MasterServer(configuration: Self.configuration(), registry: FailingRegistry(acceptedBatches: 1),
                                      bindAddress: "tcp://127.0.0.1:0", advertisedHost: "127.0.0.1",
                                      logger: Self.quietLogger)
        let running = Task { try await master.run() }

        let agent = try DealerEndpoint(connectingTo: master.advertisedAddress)
        var register = Agora_V1_RegisterAgent()
        register.agentInfo.hostname = "a1"
        register.agentInfo.resources = try Resources(parsing: "cpus:1;mem:128").proto
        register.registrationToken = "t"
        var envelope = Agora_V1_Envelope()
        envelope.registerAgent = register
        try await agent.send(envelope)

        // run() ends with the registry's error.
        let error = await #expect(throws: RegistryError.self) { try await running.value }
        #expect(error?.code == .writeFailed)

        // And the agent never heard AgentRegistered.
        let replies = Task {
            var received: [Agora_V1_Envelope] = []
            for await envelope in agent.messages { received.append(envelope) }
            return received
        }
        try await Task.sleep(for: .milliseconds(300))
        await agent.shutdown()
        let received = await replies.value
        #expect(!received.contains { if case .agentRegistered = $0.payload { true } else { false } })
    }

    @Test func aRegistryThatCannotStoreTheRecoveryFailsTheStart() throws {
        let error = #expect(throws: RegistryError.self) {
            _ = try MasterServer(configuration: Self.configuration(), registry: FailingRegistry(acceptedBatches: 0),
                                 bindAddress: "tcp://127.0.0.1:0", advertisedHost: "127.0.0.1", logger: Self.quietLogger)
        }
        #expect(error?.code == .writeFailed)
    }
}
