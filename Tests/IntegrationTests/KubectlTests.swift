import Foundation
import Testing
import TestSupport

/// `agora kube` as a real process on a real cluster, driven by the real kubectl, and
/// restarted on its work dir in the middle: pods keep running and stay managed.
@Suite(.serialized) struct KubectlTests {
    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: main
                image: busybox
                command: ["/bin/sh", "-c", "echo hello from agora; sleep 600"]
                resources: {requests: {cpu: 100m, memory: 32Mi}}
        """

    @Test func kubectlDrivesAgoraKubeAcrossARestart() async throws {
        guard KubectlRunner.installedPath != nil else {
            print("KubectlTests skipped: \(KubectlRunner.missingReason)")
            return
        }
        guard try AgoraBinary.run(["kube", "--help"]).status == 0 else {
            print("KubectlTests skipped: this agora build has no `kube` command (register KubeCommand in Agora.swift)")
            return
        }
        try await TestCluster.with(agentResources: ["cpus:2;mem:1024", "cpus:2;mem:1024"]) { cluster in
            let kubeArguments = ["kube", "--master", cluster.masterAddress, "--work-dir", cluster.workDir + "/kube",
                                 "--api-port", "0", "--log-level", "debug"]
            var kube = try DaemonProcess(kubeArguments, name: "kube")
            var server = try #require(try await kube.readyFields()["kube"] as? String)
            let directory = cluster.workDir + "/kubectl"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

            var kubectl: KubectlRunner { KubectlRunner(server: server, directory: directory, requestTimeout: "30s") }
            /// Polls kubectl until `condition` holds for its output, for at most 60 seconds.
            func waitFor(_ what: String, _ arguments: String..., condition: (String) -> Bool) async throws {
                let deadline = ContinuousClock.now + .seconds(60)
                var last = ""
                while ContinuousClock.now < deadline {
                    last = try await kubectl.result(arguments).output
                    if condition(last) { return }
                    try await Task.sleep(for: .milliseconds(250))
                }
                Issue.record("timed out waiting until \(what); last output:\n\(last)\nagora kube stderr:\n\(kube.stderr.suffix(3_000))")
                throw DaemonError("timed out waiting until \(what)")
            }
            func runningWebPods(_ output: String) -> [String] {
                output.split(separator: "\n").filter { $0.hasPrefix("web-") && $0.contains("Running") && $0.contains("1/1") }
                    .map { String($0.split(separator: " ")[0]) }
            }

            do {
                try await scenario()
            } catch {
                await kube.stop()
                throw error
            }
            await kube.stop()

            func scenario() async throws {
                try await waitFor("both agents are Ready nodes", "get", "nodes") { output in
                    output.split(separator: "\n").filter { $0.contains(" Ready") }.count == 2
                }
                try await kubectl("apply", "-f", "-", input: Self.deployment)
                try await kubectl("rollout", "status", "deployment/web", "--timeout=90s")
                try await waitFor("2 pods run", "get", "pods") { runningWebPods($0).count == 2 }
                let before = runningWebPods(try await kubectl("get", "pods")).sorted()
                try await waitFor("the logs show the output", "logs", before[0]) { $0.contains("hello from agora") }

                // Restart the adapter on its work dir: the pods keep running and stay managed.
                await kube.stop()
                kube = try DaemonProcess(kubeArguments, name: "kube-restarted")
                server = try #require(try await kube.readyFields()["kube"] as? String)
                try await waitFor("the same 2 pods still run", "get", "pods") { runningWebPods($0).sorted() == before }

                try await kubectl("scale", "deployment", "web", "--replicas=3")
                try await kubectl("rollout", "status", "deployment/web", "--timeout=90s")
                try await waitFor("3 pods run", "get", "pods") { runningWebPods($0).count == 3 }

                try await kubectl("delete", "deployment", "web")
                try await waitFor("the pods are gone", "get", "pods") { !$0.contains("web-") }
            }
        }
    }
}
