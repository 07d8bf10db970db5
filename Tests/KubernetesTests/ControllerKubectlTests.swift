import Foundation
import Hummingbird
@testable import Kubernetes
import TestSupport
import Logging
import ServiceLifecycle
import Testing

/// The real kubectl against the adapter (API, scheduler and controllers in-process) on
/// a real master with two real agents: what a user does, end to end.
@Suite(.serialized) struct ControllerKubectlTests {
    static func deploymentManifest(replicas: Int, echo: String) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: main
                image: busybox
                command: ["/bin/sh", "-c", "echo \(echo); sleep 300"]
                resources: {requests: {cpu: 100m, memory: 32Mi}}
        """
    }

    @Test(.enabled(if: ControllerClusterTests.binaryAvailable, "needs the agora executable; run `swift build` first"))
    func kubectlRunsDeploymentsOnAgora() async throws {
        guard KubectlRunner.installedPath != nil else {
            print("ControllerKubectlTests skipped: \(KubectlRunner.missingReason)")
            return
        }
        let cluster = ControllerClusterTests()
        try await cluster.withCluster { store, server, agentIDs in
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            var logger = Logger(label: "test.kube.http")
            logger.logLevel = .warning
            let app = Application(router: KubeHTTP.router(store: store, logs: server),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { channel in
                                      portContinuation.yield(channel.localAddress?.port ?? 0)
                                      portContinuation.finish()
                                  }, logger: logger)
            let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
            let serving = Task { try await services.run() }
            defer { serving.cancel() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agora-kubectl-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let kubectl = KubectlRunner(server: "http://127.0.0.1:\(port)", directory: directory, requestTimeout: "30s")
            func webPods() async -> [JSONValue] {
                await store.list(.pods, namespace: "default").items.filter { $0.labels["app"] == "web" }
            }

            try await cluster.eventually("both agents are nodes") { await store.list(.nodes, namespace: nil).items.count == 2 }
            let nodes = try await kubectl("get", "nodes")
            #expect(nodes.split(separator: "\n").filter { $0.contains("Ready") }.count == 2, "\(nodes)")

            try await kubectl("apply", "-f", "-", input: Self.deploymentManifest(replicas: 3, echo: "hello from agora"))
            try await kubectl("rollout", "status", "deployment/web", "--timeout=90s")
            try await cluster.eventually("3 pods run") { await cluster.runningPods(store, app: "web").count == 3 }
            let listed = try await kubectl("get", "pods", "-o", "wide")
            #expect(listed.split(separator: "\n").filter { $0.contains("Running") }.count == 3, "\(listed)")
            let pod = try #require(await cluster.runningPods(store, app: "web").first)
            try await cluster.eventually("kubectl logs shows the output") {
                try await kubectl("logs", pod.name, expectSuccess: false).contains("hello from agora")
            }

            try await kubectl("scale", "deployment", "web", "--replicas=5")
            try await kubectl("rollout", "status", "deployment/web", "--timeout=90s")
            try await cluster.eventually("5 pods run") { await cluster.runningPods(store, app: "web").count == 5 }
            try await kubectl("scale", "deployment", "web", "--replicas=1")
            try await cluster.eventually("1 pod is left") { await webPods().count == 1 }

            try await kubectl("apply", "-f", "-", input: Self.deploymentManifest(replicas: 1, echo: "version two"))
            try await kubectl("rollout", "status", "deployment/web", "--timeout=90s")
            try await cluster.eventually("the new pod runs alone") {
                let pods = await webPods()
                return pods.count == 1 && (pods.first.map { ObjectReferences.readySince(pod: $0) != nil } ?? false)
            }
            let updated = try #require(await webPods().first)
            try await cluster.eventually("the new pod logs the new output") {
                try await kubectl("logs", updated.name, expectSuccess: false).contains("version two")
            }

            try await kubectl("apply", "-f", "-", input: """
                apiVersion: v1
                kind: Pod
                metadata: {name: huge}
                spec:
                  containers:
                  - {name: main, image: busybox, command: ["sleep", "1"], resources: {requests: {memory: 64Gi}}}
                """)
            try await cluster.eventually("describe explains why the huge pod is pending") {
                try await kubectl("describe", "pod", "huge").contains("0/2 nodes are available: 2 Insufficient memory.")
            }
            try await kubectl("delete", "pod", "huge")

            try await kubectl("delete", "deployment", "web")
            try await cluster.eventually("the deployment's pods are gone") { await webPods().isEmpty }
            let empty = try await kubectl("get", "pods")
            #expect(!empty.contains("web-"), "\(empty)")
            #expect(agentIDs.count == 2)
            // Not awaited: an open watch (from `rollout status`) keeps the HTTP server's
            // graceful shutdown waiting until the watch times out.
            await services.triggerGracefulShutdown()
        }
    }
}
