import Foundation
import Testing
@testable import Kubernetes

/// The real kubectl against the API on a loopback port. Skipped, with the reason printed,
/// when no kubectl is installed.
@Suite(.serialized) struct APIKubectlTests {
    static let kubectlPath = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    struct KubectlResult {
        let status: Int32
        let output: String
    }

    /// Runs kubectl with a kubeconfig for `server`, stdout and stderr together.
    static func kubectl(_ arguments: [String], server: String, scratch: APIScratchDirectory, input: String? = nil) async throws -> KubectlResult {
        let kubeconfig = scratch.path + "/kubeconfig"
        if !FileManager.default.fileExists(atPath: kubeconfig) {
            let config = """
                apiVersion: v1
                kind: Config
                clusters:
                - name: agora
                  cluster: {server: "\(server)"}
                users:
                - name: agora
                  user: {}
                contexts:
                - name: agora
                  context: {cluster: agora, user: agora, namespace: default}
                current-context: agora
                """
            try config.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kubectlPath!)
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", scratch.path + "/cache", "--request-timeout", "20s"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                let data = output.fileHandleForReading.readDataToEndOfFile()
                continuation.resume(returning: KubectlResult(status: finished.terminationStatus, output: String(decoding: data, as: UTF8.self)))
            }
            do {
                try process.run()
                if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
                try? stdin.fileHandleForWriting.close()
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    static let podManifest = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels: {app: web}
        spec:
          containers:
          - name: main
            image: busybox
            command: ["sleep", "3600"]
        """

    static func deploymentManifest(image: String) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 3
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: nginx
                image: \(image)
                env:
                - {name: A, value: "1"}
        """
    }

    @Test func kubectlDrivesPodsNodesAndDeployments() async throws {
        guard Self.kubectlPath != nil else {
            print("APIKubectlTests skipped: no kubectl in /usr/bin or /usr/local/bin (apt-get install kubectl or kubernetes-client)")
            return
        }
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.nodes, namespace: nil, object: [
            "metadata": ["name": "agent-1", "labels": ["kubernetes.io/hostname": "agent-1"]],
        ])
        _ = try await store.modify(.nodes, namespace: nil, name: "agent-1", status: true) {
            $0["status"] = ["conditions": [["type": "Ready", "status": "True"]],
                            "addresses": [["type": "InternalIP", "address": "10.0.0.1"]],
                            "nodeInfo": ["kubeletVersion": "v1.28.0-agora", "osImage": "Debian", "kernelVersion": "6.1",
                                         "containerRuntimeVersion": "agora://1"]]
        }
        try await withKubeAPIServer(store: store) { server in
            func run(_ arguments: String..., input: String? = nil) async throws -> String {
                let result = try await Self.kubectl(arguments, server: server, scratch: scratch, input: input)
                #expect(result.status == 0, "kubectl \(arguments.joined(separator: " ")) failed: \(result.output)")
                return result.output
            }
            let nodes = try await run("get", "nodes", "-o", "wide")
            #expect(nodes.contains("agent-1") && nodes.contains("Ready") && nodes.contains("10.0.0.1"), "\(nodes)")

            #expect(try await run("create", "-f", "-", input: Self.podManifest).contains("pod/web created"))
            let pods = try await run("get", "pods", "-o", "wide")
            #expect(pods.contains("web") && pods.contains("0/1") && pods.contains("Pending"), "\(pods)")
            let bad = try await Self.kubectl(["create", "-f", "-"], server: server, scratch: scratch,
                                             input: Self.podManifest.replacingOccurrences(of: "name: main", with: "name: Main_"))
            #expect(bad.status != 0)
            #expect(bad.output.contains("spec.containers[0].name: Invalid value"), "\(bad.output)")
            #expect(try await run("delete", "pod", "web").contains("pod \"web\" deleted"))
            #expect(await store.list(.pods, namespace: "default").items.isEmpty)

            #expect(try await run("apply", "-f", "-", input: Self.deploymentManifest(image: "nginx:1.25")).contains("created"))
            #expect(try await run("apply", "-f", "-", input: Self.deploymentManifest(image: "nginx:1.26")).contains("configured"))
            let applied = try await store.get(.deployments, namespace: "default", name: "web")
            let containers = applied[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
            #expect(containers.count == 1 && containers.first?["image"] == "nginx:1.26")
            #expect(containers.first?["env"] == [["name": "A", "value": "1"]])
            #expect(try await run("scale", "deploy", "web", "--replicas=5").contains("scaled"))
            #expect(try await store.get(.deployments, namespace: "default", name: "web")[path: ["spec", "replicas"]] == 5)
            let deployments = try await run("get", "deploy")
            #expect(deployments.contains("0/5"), "\(deployments)")
            #expect(try await run("delete", "deploy", "web").contains("deleted"))
        }
    }
}
