import Foundation
import Testing
@testable import Kubernetes

@Suite(.serialized) struct APIHTTPTests {
    static let tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

    @Test func discoveryAndOpenAPI() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        try await withKubeAPIServer(store: store) { base in
            let version = try await send("GET", base + "/version/")
            #expect(version.status == 200)
            #expect(version.json["major"] == "1")
            let api = try await send("GET", base + "/api",
                                     headers: ["Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"])
            #expect(api.json["versions"] == ["v1"])
            #expect(api.contentType == "application/json")
            let groups = try await send("GET", base + "/apis")
            #expect(groups.json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["apps", "autoscaling"])
            let apps = try await send("GET", base + "/apis/apps/v1")
            let resources = apps.json["resources"]?.arrayValue ?? []
            #expect(resources.first { $0["name"] == "deployments" }?["shortNames"] == ["deploy"])
            let scale = resources.first { $0["name"] == "deployments/scale" }
            #expect(scale?["group"] == "autoscaling" && scale?["kind"] == "Scale")
            let core = try await send("GET", base + "/api/v1")
            #expect(core.json["resources"]?.arrayValue?.contains { $0["name"] == "pods/log" } == true)
            let openAPI = try await send("GET", base + "/openapi/v2")
            #expect(openAPI.status == 200 && openAPI.body.isEmpty)
            #expect(openAPI.contentType == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            #expect(try await send("GET", base + "/openapi/v3").status == 404)
            let unknown = try await send("GET", base + "/apis/batch/v1/jobs")
            #expect(unknown.status == 404)
            #expect(unknown.json["kind"] == "Status")
        }
    }

    @Test func createListTableWatchAndErrors() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        try await withKubeAPIServer(store: store) { base in
            let pods = base + "/api/v1/namespaces/default/pods"
            // No Content-Type, as the Python client sends.
            let created = try await send("POST", pods, body: APIFixtures.pod("web", labels: ["app": "web"]).encodedString)
            #expect(created.status == 201)
            #expect(created.json[path: ["metadata", "uid"]] != nil)
            let duplicate = try await send("POST", pods, body: APIFixtures.pod("web").encodedString,
                                           headers: ["Content-Type": "application/json"])
            #expect(duplicate.status == 409 && duplicate.json["reason"] == "AlreadyExists")
            let invalid = try await send("POST", pods, body: #"{"metadata":{"name":"x"},"spec":{"containers":[{"image":"a"}]}}"#)
            #expect(invalid.status == 422)
            #expect(invalid.json["message"] == "Pod \"x\" is invalid: spec.containers[0].name: Required value")
            let missing = try await send("GET", pods + "/nope")
            #expect(missing.status == 404 && missing.json["message"] == "pods \"nope\" not found")

            let list = try await send("GET", base + "/api/v1/pods?limit=500")
            #expect(list.json["kind"] == "PodList")
            #expect(list.json[path: ["metadata", "resourceVersion"]] != nil)
            #expect(list.json["items"]?.arrayValue?.count == 1)
            let selected = try await send("GET", pods + "?fieldSelector=metadata.name%3Dother")
            #expect(selected.json["items"]?.arrayValue?.isEmpty == true)

            let table = try await send("GET", pods, headers: ["Accept": Self.tableAccept])
            #expect(table.json["kind"] == "Table")
            #expect(table.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
                == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"])
            let cells = table.json["rows"]?.arrayValue?.first?["cells"]?.arrayValue ?? []
            #expect(Array(cells.prefix(4)) == ["web", "0/1", "Pending", 0])
            #expect(table.json["rows"]?.arrayValue?.first?[path: ["object", "kind"]] == "PartialObjectMetadata")

            let watch = try await send("GET", pods + "?watch=true&timeoutSeconds=1")
            let lines = watch.text.split(separator: "\n").map { try? JSONValue(data: Data($0.utf8)) }
            #expect(watch.text.hasSuffix("\n"))
            #expect(lines.count == 1)
            #expect(lines.first??["type"] == "ADDED")
            let gone = try await send("GET", pods + "?watch=true&resourceVersion=1")
            let errorEvent = try JSONValue(data: Data(gone.text.utf8))
            #expect(errorEvent["type"] == "ERROR" && errorEvent[path: ["object", "code"]] == 410)

            let log = try await send("GET", pods + "/web/log")
            #expect(log.text == "hello\nworld\n")
            let tail = try await send("GET", pods + "/web/log?tailLines=1")
            #expect(tail.text == "world\n")

            let deleted = try await send("DELETE", pods + "/web", body: #"{"propagationPolicy":"Background"}"#)
            #expect(deleted.status == 200 && deleted.json.name == "web")
            #expect(try await send("GET", pods + "/web").status == 404)
            #expect(try await send("PUT", base + "/api").status == 405)
        }
    }

    @Test func assignedPodsAreDeletedGracefully() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("web", nodeName: "agent-1"))
        try await withKubeAPIServer(store: store) { base in
            let reply = try await send("DELETE", base + "/api/v1/namespaces/default/pods/web")
            #expect(reply.status == 200)
            #expect(reply.json[path: ["metadata", "deletionTimestamp"]] != nil)
            #expect(reply.json[path: ["metadata", "deletionGracePeriodSeconds"]] == 30)
            let table = try await send("GET", base + "/api/v1/namespaces/default/pods", headers: ["Accept": Self.tableAccept])
            #expect(table.json["rows"]?.arrayValue?.first?["cells"]?.arrayValue?[2] == "Terminating")
        }
        #expect(try await store.get(.pods, namespace: "default", name: "web").name == "web")
    }

    @Test func patchesScaleAndServerSideApply() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        try await withKubeAPIServer(store: store) { base in
            let deployments = base + "/apis/apps/v1/namespaces/default/deployments"
            let applied = try await send("PATCH", deployments + "/web?fieldManager=kubectl&force=false",
                                         body: APIFixtures.deployment("web").encodedString,
                                         headers: ["Content-Type": "application/apply-patch+yaml"])
            #expect(applied.status == 201)
            let scaled = try await send("PATCH", deployments + "/web/scale", body: #"{"spec":{"replicas":5}}"#,
                                        headers: ["Content-Type": "application/merge-patch+json"])
            #expect(scaled.status == 200)
            #expect(scaled.json["kind"] == "Scale" && scaled.json["apiVersion"] == "autoscaling/v1")
            #expect(scaled.json[path: ["spec", "replicas"]] == 5)
            #expect(scaled.json[path: ["status", "selector"]] == "app=web")
            let strategic = try await send("PATCH", deployments + "/web",
                                           body: #"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}"#,
                                           headers: ["Content-Type": "application/strategic-merge-patch+json"])
            #expect(strategic.json[path: ["spec", "replicas"]] == 5)
            #expect(strategic.json[path: ["metadata", "generation"]] == 3)
            #expect(strategic.json[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1.26")
            let jsonPatch = try await send("PATCH", deployments + "/web",
                                           body: #"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
                                           headers: ["Content-Type": "application/json-patch+json"])
            #expect(jsonPatch.json[path: ["spec", "replicas"]] == 2)
            let status = try await send("PATCH", deployments + "/web/status", body: #"{"status":{"replicas":2},"spec":{"replicas":9}}"#,
                                        headers: ["Content-Type": "application/merge-patch+json"])
            #expect(status.json[path: ["status", "replicas"]] == 2 && status.json[path: ["spec", "replicas"]] == 2)
            let stale = try await send("PATCH", deployments + "/web", body: #"{"metadata":{"resourceVersion":"1"}}"#,
                                       headers: ["Content-Type": "application/merge-patch+json"])
            #expect(stale.status == 409 && stale.json["reason"] == "Conflict")
            let table = try await send("GET", deployments, headers: ["Accept": Self.tableAccept])
            #expect(table.json["rows"]?.arrayValue?.first?["cells"]?.arrayValue?.prefix(4).map { $0 } == ["web", "0/2", 0, 0])
        }
    }
}
