import Foundation
import Testing

/// The real Python `marathon` client (0.13.0, from PyPI, in a venv this test makes)
/// drives `agora marathon`: it is the judge of API compatibility.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct MarathonClientTests {
    /// The client's whole cycle; exits non-zero with the failed step on stderr.
    static let script = #"""
    import collections, collections.abc, sys, threading, time
    collections.Iterable = collections.abc.Iterable  # marathon 0.13.0 predates Python 3.10
    from marathon import MarathonClient
    from marathon.models import MarathonApp

    client = MarathonClient(sys.argv[1])
    def wait(what, condition, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.3)
        sys.exit("timed out waiting for " + what)

    events = []
    def listen():
        for event in client.event_stream():
            events.append(event.event_type)
    threading.Thread(target=listen, daemon=True).start()

    assert client.ping().strip() in (b'"pong"', b'pong'), client.ping()
    info = client.get_info()
    assert info.framework_id, "info has no framework id"
    app = client.create_app("py-trivial", MarathonApp(cmd="sleep 3600", mem=16, cpus=0.1, instances=2))
    assert app and app.id == "/py-trivial", app
    assert len(client.list_deployments()) == 1, "the create deployment is listed"
    wait("2 running", lambda: not client.get_app("py-trivial").deployments
         and client.get_app("py-trivial").tasks_running == 2)
    assert [a.id for a in client.list_apps()] == ["/py-trivial"]
    assert len(client.list_tasks("py-trivial")) == 2

    client.scale_app("py-trivial", instances=3)
    wait("3 running", lambda: len(client.list_tasks("py-trivial")) == 3 and not client.list_deployments())
    tasks = client.list_tasks("py-trivial")
    client.kill_task("py-trivial", tasks[0].id, scale=True)
    wait("scaled to 2 by a kill", lambda: client.get_app("py-trivial").instances == 2
         and len(client.list_tasks("py-trivial")) == 2 and not client.list_deployments())
    survivor = client.list_tasks("py-trivial")[0].id
    assert client.kill_given_tasks([survivor]) is True
    wait("the killed task replaced", lambda: len(client.list_tasks("py-trivial")) == 2
         and survivor not in [t.id for t in client.list_tasks("py-trivial")])

    client.restart_app("py-trivial")
    wait("restart done", lambda: not client.list_deployments() and client.get_app("py-trivial").tasks_running == 2)
    assert len(client.list_versions("py-trivial")) >= 3
    client.list_queue()
    client.get_app("py-trivial", embed_tasks=True)

    client.delete_app("py-trivial", force=True)
    wait("app removed", lambda: not client.list_apps() and not client.list_deployments())
    wait("events", lambda: "status_update_event" in events and "deployment_success" in events, timeout=10)
    print("OK", sorted(set(events)))
    """#

    @Test("the Python marathon client drives a create/scale/kill/restart/delete cycle and reads the event stream")
    func pythonClientCycle() async throws {
        let (python, reason) = PythonVenv.python(for: "marathon==0.13.0")
        guard let python else {
            print("skipping the Python marathon client test: \(reason)")
            return
        }
        try await TestCluster.with(agentResources: MarathonTests.agents) { cluster in
            let marathon = try await MarathonProcess.start(cluster: cluster)
            defer { Task { await marathon.stop() } }
            let result = try await PythonVenv.runScript(Self.script, python: python, directory: cluster.workDir,
                                                        name: "marathon_cycle.py", arguments: [marathon.url])
            #expect(result.status == 0, "the client failed:\n\(result.output)")
            #expect(result.output.contains("OK"))
        }
    }
}
