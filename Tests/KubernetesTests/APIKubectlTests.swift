import Foundation
import Testing
@testable import Kubernetes
import TestSupport

/// The real kubectl against the API on a loopback port. Skipped, with the reason printed,
/// when no kubectl is installed.
@Suite(.serialized) struct APIKubectlTests {
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
        guard KubectlRunner.installedPath != nil else {
            print("APIKubectlTests skipped: \(KubectlRunner.missingReason)")
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
            let kubectl = KubectlRunner(server: server, directory: scratch.path, requestTimeout: "20s")
            let nodes = try await kubectl("get", "nodes", "-o", "wide")
            #expect(nodes.contains("agent-1") && nodes.contains("Ready") && nodes.contains("10.0.0.1"), "\(nodes)")

            #expect(try await kubectl("create", "-f", "-", input: Self.podManifest).contains("pod/web created"))
            let pods = try await kubectl("get", "pods", "-o", "wide")
            #expect(pods.contains("web") && pods.contains("0/1") && pods.contains("Pending"), "\(pods)")
            let bad = try await kubectl.result(["create", "-f", "-"],
                                               input: Self.podManifest.replacingOccurrences(of: "name: main", with: "name: Main_"))
            #expect(bad.status != 0)
            #expect(bad.output.contains("spec.containers[0].name: Invalid value"), "\(bad.output)")
            #expect(try await kubectl("delete", "pod", "web").contains("pod \"web\" deleted"))
            #expect(await store.list(.pods, namespace: "default").items.isEmpty)

            #expect(try await kubectl("apply", "-f", "-", input: Self.deploymentManifest(image: "nginx:1.25")).contains("created"))
            #expect(try await kubectl("apply", "-f", "-", input: Self.deploymentManifest(image: "nginx:1.26")).contains("configured"))
            let applied = try await store.get(.deployments, namespace: "default", name: "web")
            let containers = applied[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
            #expect(containers.count == 1 && containers.first?["image"] == "nginx:1.26")
            #expect(containers.first?["env"] == [["name": "A", "value": "1"]])
            #expect(try await kubectl("scale", "deploy", "web", "--replicas=5").contains("scaled"))
            #expect(try await store.get(.deployments, namespace: "default", name: "web")[path: ["spec", "replicas"]] == 5)
            let deployments = try await kubectl("get", "deploy")
            #expect(deployments.contains("0/5"), "\(deployments)")
            #expect(try await kubectl("delete", "deploy", "web").contains("deleted"))
        }
    }
}
