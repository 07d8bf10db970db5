import Foundation
import Testing

/// The official Python `kubernetes` client (from PyPI, in a venv this test makes)
/// drives `agora kube`: it validates every response it reads strictly.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct KubePythonClientTests {
    /// Create a Deployment, list pods and nodes, scale it, read a log, delete it.
    static let script = #"""
    import sys, time
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = sys.argv[1]
    api = client.ApiClient(configuration)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)

    def wait(what, condition, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.3)
        sys.exit("timed out waiting for " + what)

    def running():
        pods = core.list_namespaced_pod("default", label_selector="app=py").items
        return [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]

    nodes = core.list_node().items
    assert len(nodes) == 2, [n.metadata.name for n in nodes]
    assert all(n.status.node_info.kubelet_version for n in nodes)

    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "py"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py"}),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="main", image="busybox", command=["/bin/sh", "-c", "echo python was here; sleep 600"],
                    resources=client.V1ResourceRequirements(requests={"cpu": "100m", "memory": "32Mi"}))]))))
    created = apps.create_namespaced_deployment("default", deployment)
    assert created.metadata.uid and created.metadata.resource_version
    wait("2 running pods", lambda: len(running()) == 2)
    assert [d.metadata.name for d in apps.list_namespaced_deployment("default").items] == ["py"]

    apps.patch_namespaced_deployment_scale("py", "default", {"spec": {"replicas": 3}})
    wait("3 running pods", lambda: len(running()) == 3)
    assert apps.read_namespaced_deployment_scale("py", "default").spec.replicas == 3

    pod = running()[0].metadata.name
    wait("the log", lambda: "python was here" in core.read_namespaced_pod_log(pod, "default"))

    apps.delete_namespaced_deployment("py", "default")
    wait("no pods left", lambda: not core.list_namespaced_pod("default", label_selector="app=py").items)
    try:
        apps.read_namespaced_deployment("py", "default")
        sys.exit("the deployment is still there")
    except client.exceptions.ApiException as error:
        assert error.status == 404, error.status
    print("OK")
    """#

    @Test("the Python kubernetes client creates, lists, scales, reads logs of and deletes a Deployment")
    func pythonClientCycle() async throws {
        let (python, reason) = PythonVenv.python(for: "kubernetes==31.0.0")
        guard let python else {
            print("skipping the Python kubernetes client test: \(reason)")
            return
        }
        try await TestCluster.with(agentResources: ["cpus:2;mem:1024", "cpus:2;mem:1024"]) { cluster in
            let kube = try DaemonProcess(["kube", "--master", cluster.masterAddress, "--work-dir", cluster.workDir + "/kube",
                                          "--api-port", "0"], name: "kube")
            do {
                let server = try #require(try await kube.readyFields()["kube_api"] as? String)
                let result = try await PythonVenv.runScript(Self.script, python: python, directory: cluster.workDir,
                                                            name: "kube_cycle.py", arguments: [server])
                #expect(result.status == 0, "the client failed:\n\(result.output)\nagora kube:\n\(kube.stderr.suffix(3_000))")
                #expect(result.output.contains("OK"))
            } catch {
                await kube.stop()
                throw error
            }
            await kube.stop()
        }
    }
}
