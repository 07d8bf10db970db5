import Foundation
import Testing
@testable import Kubernetes

@Suite struct APIObjectStoreTests {
    @Test func createFillsMetadataAndGetReturnsIt() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        let created = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("web"))
        #expect(created["apiVersion"] == "v1")
        #expect(created["kind"] == "Pod")
        #expect(created.namespace == "default")
        #expect(created[path: ["metadata", "generation"]] == 1)
        #expect(created[path: ["metadata", "uid"]]?.stringValue?.count == 36)
        #expect(created[path: ["metadata", "creationTimestamp"]]?.stringValue?.hasSuffix("Z") == true)
        #expect(try await store.get(.pods, namespace: "default", name: "web") == created)
    }

    @Test func defaultNamespacesExist() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        let names = await store.list(.namespaces, namespace: nil).items.map(\.name)
        #expect(names == ["default", "kube-system"])
        let deletion = await #expect(throws: APIError.self) { try await store.delete(.namespaces, namespace: nil, name: "default") }
        #expect(deletion?.code == 403)
    }

    @Test func generateNameGivesAUniqueName() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        var pod = APIFixtures.pod("")
        pod[path: ["metadata", "generateName"]] = "web-"
        let first = try await store.create(.pods, namespace: "default", object: pod)
        let second = try await store.create(.pods, namespace: "default", object: pod)
        #expect(first.name.hasPrefix("web-") && first.name.count == 9)
        #expect(first.name != second.name)
    }

    @Test func duplicatesMissingNamespacesAndInvalidObjectsAreRefused() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("web"))
        let duplicate = await #expect(throws: APIError.self) {
            try await store.create(.pods, namespace: "default", object: APIFixtures.pod("web"))
        }
        #expect(duplicate?.reason == "AlreadyExists")
        #expect(duplicate?.message == "pods \"web\" already exists")
        let missing = await #expect(throws: APIError.self) {
            try await store.create(.pods, namespace: "nowhere", object: APIFixtures.pod("web"))
        }
        #expect(missing?.code == 404)
        #expect(missing?.message == "namespaces \"nowhere\" not found")
        var nameless = APIFixtures.pod("bad")
        nameless[path: ["spec", "containers"]] = [["image": "busybox"]]
        let invalid = await #expect(throws: APIError.self) {
            try await store.create(.pods, namespace: "default", object: nameless)
        }
        #expect(invalid?.code == 422)
        #expect(invalid?.message == "Pod \"bad\" is invalid: spec.containers[0].name: Required value")
        let badName = await #expect(throws: APIError.self) {
            try await store.create(.pods, namespace: "default", object: APIFixtures.pod("Bad_Name"))
        }
        #expect(badName?.reason == "Invalid")
        let notFound = await #expect(throws: APIError.self) { try await store.get(.pods, namespace: "default", name: "x") }
        #expect(notFound?.message == "pods \"x\" not found")
    }

    @Test func updateChecksResourceVersionAndBumpsGenerationOnSpecChange() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        let created = try await store.create(.deployments, namespace: "default", object: APIFixtures.deployment("web"))
        var stale = created
        stale[path: ["spec", "replicas"]] = 5
        let updated = try await store.update(.deployments, namespace: "default", name: "web", object: stale)
        #expect(updated[path: ["metadata", "generation"]] == 2)
        #expect(updated.resourceVersion != created.resourceVersion)
        #expect(updated[path: ["metadata", "uid"]] == created[path: ["metadata", "uid"]])
        // The same body again carries the old resourceVersion now: a conflict.
        let conflict = await #expect(throws: APIError.self) {
            try await store.update(.deployments, namespace: "default", name: "web", object: stale)
        }
        #expect(conflict?.reason == "Conflict")
        #expect(conflict?.code == 409)
        // A label change keeps the generation.
        var relabelled = updated
        relabelled[path: ["metadata", "labels"]] = ["team": "a"]
        let afterLabels = try await store.update(.deployments, namespace: "default", name: "web", object: relabelled)
        #expect(afterLabels[path: ["metadata", "generation"]] == 2)
    }

    @Test func statusOnlyChangesThroughTheStatusSubresource() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.deployments, namespace: "default", object: APIFixtures.deployment("web"))
        let withStatus = try await store.modify(.deployments, namespace: "default", name: "web", status: true) {
            $0[path: ["status", "replicas"]] = 2
            $0[path: ["spec", "replicas"]] = 9
        }
        #expect(withStatus[path: ["status", "replicas"]] == 2)
        #expect(withStatus[path: ["spec", "replicas"]] == 2)
        #expect(withStatus[path: ["metadata", "generation"]] == 1)
        let mainUpdate = try await store.modify(.deployments, namespace: "default", name: "web") {
            $0["status"] = nil
            $0[path: ["spec", "replicas"]] = 3
        }
        #expect(mainUpdate[path: ["status", "replicas"]] == 2)
        #expect(mainUpdate[path: ["spec", "replicas"]] == 3)
    }

    @Test func noOpUpdateKeepsTheResourceVersion() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        let created = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("web"))
        let same = try await store.modify(.pods, namespace: "default", name: "web") { _ in }
        #expect(same.resourceVersion == created.resourceVersion)
    }

    @Test func listFiltersByNamespaceLabelsAndFields() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.namespaces, namespace: nil, object: ["metadata": ["name": "other"]])
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("a", labels: ["app": "web"]))
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("b", labels: ["app": "db"], nodeName: "n1"))
        _ = try await store.create(.pods, namespace: "other", object: APIFixtures.pod("c", labels: ["app": "web"]))
        #expect(await store.list(.pods, namespace: nil).items.map(\.name) == ["a", "b", "c"])
        #expect(await store.list(.pods, namespace: "default").items.map(\.name) == ["a", "b"])
        let web = try LabelSelector(parsing: "app=web")
        #expect(await store.list(.pods, namespace: nil, labelSelector: web).items.map(\.name) == ["a", "c"])
        #expect(await store.list(.pods, namespace: nil, fieldSelector: ["spec.nodeName": "n1"]).items.map(\.name) == ["b"])
        #expect(await store.list(.pods, namespace: nil, fieldSelector: ["metadata.name": "c"]).items.map(\.name) == ["c"])
    }

    @Test func watchReplaysExistingObjectsThenFollowsChanges() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("a"))
        let stream = try await store.watch(.pods, namespace: "default", resourceVersion: nil)
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("b"))
        _ = try await store.modify(.pods, namespace: "default", name: "a") { $0[path: ["metadata", "labels"]] = ["x": "y"] }
        _ = try await store.delete(.pods, namespace: "default", name: "b")
        let events = await stream.first(4)
        #expect(events.map(\.type) == [.added, .added, .modified, .deleted])
        #expect(events.map(\.object.name) == ["a", "b", "a", "b"])
    }

    @Test func watchFromAResourceVersionSendsOnlyLaterChanges() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("a"))
        let version = await store.list(.pods, namespace: "default").resourceVersion
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("b"))
        _ = try await store.create(.deployments, namespace: "default", object: APIFixtures.deployment("d"))
        _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("c"))
        let events = try await store.watch(.pods, namespace: "default", resourceVersion: version).first(2)
        #expect(events.map(\.object.name) == ["b", "c"])
        #expect(events.allSatisfy { $0.type == .added })
    }

    @Test func watchFromBeforeTheRetainedHistoryIsGone() async throws {
        let scratch = try APIScratchDirectory()
        let first = try ObjectStore(path: scratch.databasePath)
        let old = await first.list(.pods, namespace: nil).resourceVersion
        _ = try await first.create(.pods, namespace: "default", object: APIFixtures.pod("a"))
        // A reopened store has no history before its start.
        let reopened = try ObjectStore(path: scratch.databasePath)
        let gone = await #expect(throws: APIError.self) {
            try await reopened.watch(.pods, namespace: nil, resourceVersion: old)
        }
        #expect(gone?.code == 410)
        #expect(gone?.reason == "Expired")
    }

    @Test func objectsAndResourceVersionsSurviveReopening() async throws {
        let scratch = try APIScratchDirectory()
        let created: JSONValue
        let version: String
        do {
            let store = try ObjectStore(path: scratch.databasePath)
            created = try await store.create(.deployments, namespace: "default", object: APIFixtures.deployment("web"))
            _ = try await store.create(.pods, namespace: "default", object: APIFixtures.pod("gone"))
            _ = try await store.delete(.pods, namespace: "default", name: "gone")
            version = await store.list(.pods, namespace: nil).resourceVersion
        }
        let reopened = try ObjectStore(path: scratch.databasePath)
        #expect(try await reopened.get(.deployments, namespace: "default", name: "web") == created)
        #expect(await reopened.list(.pods, namespace: nil).items.isEmpty)
        #expect(await reopened.list(.pods, namespace: nil).resourceVersion == version)
        let next = try await reopened.create(.pods, namespace: "default", object: APIFixtures.pod("new"))
        #expect(Int(next.resourceVersion ?? "") ?? 0 > Int(version) ?? 0)
    }

    @Test func endedWatchesAreForgotten() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        let stream = try await store.watch(.pods, namespace: nil, resourceVersion: nil)
        #expect(await store.watcherCount == 1)
        let consumer = Task { for await _ in stream {} }
        consumer.cancel()
        await consumer.value
        let deadline = ContinuousClock.now + .seconds(10)
        while await store.watcherCount > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await store.watcherCount == 0)
    }

    @Test func deletingANamespaceDeletesItsObjects() async throws {
        let scratch = try APIScratchDirectory()
        let store = try ObjectStore(path: scratch.databasePath)
        _ = try await store.create(.namespaces, namespace: nil, object: ["metadata": ["name": "team"]])
        _ = try await store.create(.pods, namespace: "team", object: APIFixtures.pod("a"))
        _ = try await store.delete(.namespaces, namespace: nil, name: "team")
        #expect(await store.list(.pods, namespace: "team").items.isEmpty)
    }
}
