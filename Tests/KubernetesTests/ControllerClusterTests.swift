import Foundation
import Framework
@testable import Kubernetes
import Logging
import Synchronization
import Testing

/// A real `agora` daemon started for a test; its JSON ready line is awaited, never a sleep.
final class ControllerDaemon: Sendable {
    private final class Lines: Sendable {
        let state = Mutex<[String]>([])
    }

    private let process: Process
    private let lines = Lines()
    let name: String

    init(_ arguments: [String], name: String) throws {
        self.name = name
        process = Process()
        process.executableURL = Self.agoraBinary
        process.arguments = arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("agora-kube-test-\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log.path)
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        let lines = lines
        Thread.detachNewThread {
            var pending = ""
            while case let chunk = handle.availableData, !chunk.isEmpty {
                pending += String(decoding: chunk, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending = String(pending[pending.index(after: newline)...])
                    lines.state.withLock { $0.append(line) }
                }
            }
        }
    }

    /// `.build/<triple>/debug/agora`, found beside the test bundle.
    static var agoraBinary: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("agora").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("agora")
    }

    /// The fields of the ready line, waiting up to `timeout`.
    func ready(timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, process.isRunning {
            if let line = lines.state.withLock({ $0.first { $0.contains("\"ready\":true") } }),
               let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                return object
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw KubeServerError("\(name) printed no ready line")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

/// The adapter in-process against a real master and two real agents.
@Suite(.serialized) struct ControllerClusterTests {
    static var binaryAvailable: Bool { FileManager.default.isExecutableFile(atPath: ControllerDaemon.agoraBinary.path) }

    /// The adapter under test; `restart()` replaces it with a new one on the same work dir.
    final class Adapter {
        let workDir: String
        let masterAddress: String
        let agentIDs: [String]
        private(set) var store: ObjectStore
        private(set) var server: KubeServer
        private var driver: SchedulerDriver
        private var running: Task<Void, any Error>

        init(workDir: String, masterAddress: String, agentIDs: [String]) async throws {
            self.workDir = workDir
            self.masterAddress = masterAddress
            self.agentIDs = agentIDs
            (store, server, driver, running) = try await Self.start(workDir: workDir, masterAddress: masterAddress)
        }

        private static func start(workDir: String, masterAddress: String) async throws
            -> (ObjectStore, KubeServer, SchedulerDriver, Task<Void, any Error>) {
            let store = try ObjectStore(path: workDir + "/kube.sqlite")
            let logger = Logger(label: "test.kube")
            let server = KubeServer(store: store, version: "test", logger: logger)
            let driver = SchedulerDriver(master: masterAddress, frameworkInfo: KubeServer.frameworkInfo(), scheduler: server,
                                         idStore: FileFrameworkIDStore(path: workDir + "/framework-id"), logger: logger)
            await server.attach(driver)
            return (store, server, driver, Task { try await server.run() })
        }

        /// Stops the adapter; its pods keep running (failover).
        func stop() async {
            running.cancel()
            _ = await running.result
            await driver.stop(failover: true)
        }

        func restart() async throws {
            await stop()
            (store, server, driver, running) = try await Self.start(workDir: workDir, masterAddress: masterAddress)
        }
    }

    /// Starts master, agents and the adapter, runs `body`, and stops everything.
    func withCluster(_ body: (ObjectStore, KubeServer, [String]) async throws -> Void) async throws {
        try await withAdapter { adapter in try await body(adapter.store, adapter.server, adapter.agentIDs) }
    }

    func withAdapter(_ body: (Adapter) async throws -> Void) async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("agora-kube-it-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let master = try ControllerDaemon(["master", "--work-dir", workDir + "/master", "--ip", "127.0.0.1", "--port", "0",
                                           "--http-port", "0", "--allocation-interval", "100ms"], name: "master")
        defer { master.stop() }
        let masterAddress = try await master.ready()["master"] as? String ?? ""
        var agents: [ControllerDaemon] = []
        defer { for agent in agents { agent.stop() } }
        for index in 0..<2 {
            let ports = 32_000 + index * 100
            agents.append(try ControllerDaemon([
                "agent", "--master", masterAddress, "--work-dir", workDir + "/agent-\(index)", "--ip", "127.0.0.1",
                "--http-port", "0", "--hostname", "127.0.0.1", "--resources", "cpus:2;mem:1024;ports:[\(ports)-\(ports + 99)]",
                "--attributes", "zone:z\(index)", "--kill-executors-on-shutdown", "--isolation", "posix",
            ], name: "agent\(index)"))
        }
        var agentIDs: [String] = []
        for agent in agents { agentIDs.append(try await agent.ready()["agent_id"] as? String ?? "") }

        let adapter = try await Adapter(workDir: workDir, masterAddress: masterAddress, agentIDs: agentIDs)
        do {
            try await body(adapter)
        } catch {
            await adapter.stop()
            throw error
        }
        await adapter.stop()
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes.
    func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)")
        throw KubeServerError("timed out waiting until \(what)")
    }

    func deployment(_ name: String, replicas: Int64, script: String) -> JSONValue {
        [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": [
                "replicas": .int(replicas), "selector": ["matchLabels": ["app": .string(name)]],
                "template": [
                    "metadata": ["labels": ["app": .string(name)]],
                    "spec": ["containers": [[
                        "name": "main", "image": "busybox", "command": ["/bin/sh", "-c", .string(script)],
                        "resources": ["requests": ["cpu": "100m", "memory": "32Mi"]],
                    ]]],
                ],
            ],
        ]
    }

    func runningPods(_ store: ObjectStore, app: String) async -> [JSONValue] {
        await store.list(.pods, namespace: "default").items.filter {
            $0.labels["app"] == app && $0[path: ["status", "phase"]] == "Running" && !ObjectReferences.isDeleting($0)
                && ObjectReferences.readySince(pod: $0) != nil
        }
    }

    func events(_ store: ObjectStore, about name: String) async -> [JSONValue] {
        await store.list(.events, namespace: "default").items.filter { $0[path: ["involvedObject", "name"]]?.stringValue == name }
    }

    @Test(.enabled(if: binaryAvailable, "needs the agora executable; run `swift build` first"))
    func deploymentsRunScaleRollAndDeleteOnRealAgents() async throws {
        try await withCluster { store, server, agentIDs in
            // One Node per agent, with capacity, labels and nodeInfo.
            try await eventually("both agents are nodes") { await store.list(.nodes, namespace: nil).items.count == 2 }
            let nodes = await store.list(.nodes, namespace: nil).items
            #expect(Set(nodes.compactMap { $0[path: ["metadata", "annotations", "agora.io/agent-id"]]?.stringValue }) == Set(agentIDs))
            for node in nodes {
                #expect(node[path: ["status", "capacity", "cpu"]] == "2")
                #expect(node[path: ["status", "capacity", "memory"]] == "1048576Ki")
                #expect(node[path: ["status", "conditions"]]?.arrayValue?.first?["status"] == "True")
                #expect(node[path: ["status", "nodeInfo", "containerRuntimeVersion"]] == "agora://test")
                #expect(node.labels["zone"]?.hasPrefix("z") == true)
            }

            // Three replicas run, spread over both agents, and their output is readable.
            _ = try await store.create(.deployments, namespace: "default",
                                       object: deployment("web", replicas: 3, script: "echo hello from $POD_NAME; sleep 300"))
            try await eventually("3 pods run") { await runningPods(store, app: "web").count == 3 }
            let pods = await runningPods(store, app: "web")
            #expect(Set(pods.compactMap { $0[path: ["spec", "nodeName"]]?.stringValue }).count == 2)
            let first = try #require(pods.first)
            #expect(first[path: ["status", "containerStatuses"]]?.arrayValue?.first?["containerID"]?.stringValue?.hasPrefix("agora://pod.default.") == true)
            try await eventually("the log has the greeting") {
                let logs = try await server.logs(namespace: "default", pod: first.name, container: nil, offset: 0)
                return logs.map { String(decoding: $0.data, as: UTF8.self).contains("hello from") } ?? false
            }
            #expect(await events(store, about: first.name).contains { $0["reason"] == "Scheduled" })
            #expect(await events(store, about: first.name).contains { $0["reason"] == "Started" })

            // Scale to 5 and back to 1.
            _ = try await store.modify(.deployments, namespace: "default", name: "web") { $0[path: ["spec", "replicas"]] = 5 }
            try await eventually("5 pods run") { await runningPods(store, app: "web").count == 5 }
            _ = try await store.modify(.deployments, namespace: "default", name: "web") { $0[path: ["spec", "replicas"]] = 1 }
            try await eventually("1 pod is left") {
                await store.list(.pods, namespace: "default").items.filter { $0.labels["app"] == "web" }.count == 1
            }

            // A changed command rolls out; the rollout completes as `kubectl rollout status` sees it.
            _ = try await store.modify(.deployments, namespace: "default", name: "web") {
                $0[path: ["spec", "template", "spec", "containers"]] = [[
                    "name": "main", "image": "busybox", "command": ["/bin/sh", "-c", "echo version two; sleep 300"],
                ]]
            }
            try await eventually("the rollout completes") {
                let deployment = try await store.get(.deployments, namespace: "default", name: "web")
                let status = deployment["status"]
                let podCount = await store.list(.pods, namespace: "default").items.filter { $0.labels["app"] == "web" }.count
                return (status?["observedGeneration"]?.intValue ?? 0) >= (deployment[path: ["metadata", "generation"]]?.intValue ?? 1)
                    && status?["updatedReplicas"] == 1 && status?["replicas"] == 1 && status?["availableReplicas"] == 1
                    && podCount == 1
            }
            let updated = try #require(await runningPods(store, app: "web").first)
            #expect(updated[path: ["spec", "containers"]]?.arrayValue?.first?["command"]?.arrayValue?.last == "echo version two; sleep 300")

            // Deleting the deployment removes its pods after their tasks were killed.
            _ = try await store.delete(.deployments, namespace: "default", name: "web")
            try await eventually("every pod is gone") {
                let pods = await store.list(.pods, namespace: "default").items
                let sets = await store.list(.replicaSets, namespace: "default").items
                return pods.isEmpty && sets.isEmpty
            }
        }
    }

    @Test(.enabled(if: binaryAvailable, "needs the agora executable; run `swift build` first"))
    func podsThatCannotRunSayWhyAndFinishedPodsEnd() async throws {
        try await withCluster { store, _, _ in
            try await eventually("both agents are nodes") { await store.list(.nodes, namespace: nil).items.count == 2 }
            func pod(_ name: String, _ container: JSONValue, restartPolicy: String = "Never") -> JSONValue {
                ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"],
                 "spec": ["restartPolicy": .string(restartPolicy), "containers": [container]]]
            }
            _ = try await store.create(.pods, namespace: "default", object: pod("huge", [
                "name": "main", "image": "busybox", "command": ["sleep", "1"], "resources": ["requests": ["memory": "64Gi"]],
            ]))
            _ = try await store.create(.pods, namespace: "default", object: pod("imageonly", ["name": "nginx", "image": "nginx"]))
            _ = try await store.create(.pods, namespace: "default", object: pod("fails", [
                "name": "main", "image": "busybox", "command": ["/bin/sh", "-c", "exit 3"],
            ]))
            _ = try await store.create(.pods, namespace: "default", object: pod("works", [
                "name": "main", "image": "busybox", "command": ["/bin/true"],
            ]))

            try await eventually("the huge pod has a FailedScheduling event") {
                await events(store, about: "huge").contains {
                    $0["reason"] == "FailedScheduling" && $0["message"] == "0/2 nodes are available: 2 Insufficient memory."
                }
            }
            let huge = try await store.get(.pods, namespace: "default", name: "huge")
            #expect(huge[path: ["status", "phase"]] == "Pending")
            #expect(huge[path: ["status", "conditions"]]?.arrayValue?.first?["reason"] == "Unschedulable")

            try await eventually("the image-only pod has a FailedCreate event") {
                await events(store, about: "imageonly").contains {
                    $0["reason"] == "FailedCreate" && ($0["message"]?.stringValue?.contains("does not run container images") ?? false)
                }
            }
            #expect(try await store.get(.pods, namespace: "default", name: "imageonly")[path: ["status", "phase"]] == "Pending")

            try await eventually("the failing pod is Failed with its exit code") {
                let pod = try await store.get(.pods, namespace: "default", name: "fails")
                return pod[path: ["status", "phase"]] == "Failed"
                    && pod[path: ["status", "containerStatuses"]]?.arrayValue?.first?[path: ["state", "terminated", "exitCode"]] == 3
            }
            try await eventually("the working pod Succeeded") {
                try await store.get(.pods, namespace: "default", name: "works")[path: ["status", "phase"]] == "Succeeded"
            }
        }
    }

    @Test(.enabled(if: binaryAvailable, "needs the agora executable; run `swift build` first"))
    func aRestartedAdapterKeepsManagingThePodsItLaunched() async throws {
        try await withAdapter { adapter in
            _ = try await adapter.store.create(.deployments, namespace: "default",
                                               object: deployment("web", replicas: 2, script: "sleep 300"))
            try await eventually("2 pods run") { await runningPods(adapter.store, app: "web").count == 2 }
            let before = Set(await runningPods(adapter.store, app: "web").map(\.name))

            try await adapter.restart()
            let store = adapter.store
            // Reconciliation confirms the tasks: the same pods stay Running, none is replaced.
            try await eventually("the adapter is back") { await store.list(.nodes, namespace: nil).items.count == 2 }
            try await eventually("the same pods run") { Set(await runningPods(store, app: "web").map(\.name)) == before }

            // A pod deleted after the restart has its task killed, then a replacement runs.
            let victim = try #require(before.first)
            await PodDeletion.request(store: store, namespace: "default", name: victim, now: Date())
            try await eventually("the deleted pod is gone and replaced") {
                let names = Set(await runningPods(store, app: "web").map(\.name))
                let victimLeft = (try? await store.get(.pods, namespace: "default", name: victim)) != nil
                return !victimLeft && names.count == 2
            }
            #expect(await events(store, about: victim).contains { $0["reason"] == "Killing" })
            // The replacement ran on offers asked for after the reconciliation, whose answers
            // come first on the same connection: the other pod was confirmed, not restarted.
            let survivor = try #require(before.subtracting([victim]).first)
            let kept = try await store.get(.pods, namespace: "default", name: survivor)
            #expect(kept[path: ["status", "phase"]] == "Running")
            #expect(kept[path: ["status", "containerStatuses"]]?.arrayValue?.first?["restartCount"] == 0)
            #expect(kept[path: ["status", "containerStatuses"]]?.arrayValue?.first?[path: ["state", "running"]] != nil)
        }
    }
}
