import Foundation
@testable import Kubernetes
import Logging
import Testing

@Suite struct ControllerRolloutMathTests {
    typealias Counts = RolloutPlanner.ReplicaSetCounts

    @Test func aNewDeploymentScalesItsReplicaSetUpAtOnce() {
        let plan = RolloutPlanner.plan(replicas: 3, strategy: .rollingUpdate(maxSurge: 1, maxUnavailable: 0),
                                       new: Counts(name: "new", desired: 0, current: 0, available: 0), old: [])
        #expect(plan.newReplicas == 3)
        #expect(plan.oldReplicas.isEmpty)
    }

    @Test func aRollingUpdateNeverGoesAboveSurgeNorBelowAvailability() {
        let strategy = RolloutPlanner.Strategy.rollingUpdate(maxSurge: 1, maxUnavailable: 0)
        // Step 1: one new pod above the desired count; old pods stay while the new one is not available.
        var plan = RolloutPlanner.plan(replicas: 3, strategy: strategy,
                                       new: Counts(name: "new", desired: 0, current: 0, available: 0),
                                       old: [Counts(name: "old", desired: 3, current: 3, available: 3)])
        #expect(plan.newReplicas == 1)
        #expect(plan.oldReplicas == ["old": 3])
        plan = RolloutPlanner.plan(replicas: 3, strategy: strategy,
                                   new: Counts(name: "new", desired: 1, current: 1, available: 0),
                                   old: [Counts(name: "old", desired: 3, current: 3, available: 3)])
        #expect(plan.newReplicas == 1)
        #expect(plan.oldReplicas == ["old": 3])
        // Step 2: the new pod is available, so one old pod may go.
        plan = RolloutPlanner.plan(replicas: 3, strategy: strategy,
                                   new: Counts(name: "new", desired: 1, current: 1, available: 1),
                                   old: [Counts(name: "old", desired: 3, current: 3, available: 3)])
        #expect(plan.oldReplicas == ["old": 2])
        // Step 3: room for another new pod.
        plan = RolloutPlanner.plan(replicas: 3, strategy: strategy,
                                   new: Counts(name: "new", desired: 1, current: 1, available: 1),
                                   old: [Counts(name: "old", desired: 2, current: 2, available: 2)])
        #expect(plan.newReplicas == 2)
        // The end: every old pod gone once the new ones are available.
        plan = RolloutPlanner.plan(replicas: 3, strategy: strategy,
                                   new: Counts(name: "new", desired: 3, current: 3, available: 3),
                                   old: [Counts(name: "old", desired: 1, current: 1, available: 1)])
        #expect(plan.newReplicas == 3)
        #expect(plan.oldReplicas == ["old": 0])
    }

    @Test func unavailableOldPodsGoFirstAndTheOldestSetShrinksFirst() {
        let plan = RolloutPlanner.plan(replicas: 4, strategy: .rollingUpdate(maxSurge: 0, maxUnavailable: 1),
                                       new: Counts(name: "new", desired: 0, current: 0, available: 0),
                                       old: [Counts(name: "oldest", desired: 2, current: 2, available: 1),
                                             Counts(name: "older", desired: 2, current: 2, available: 2)])
        // The unavailable pod of "oldest" goes; then 3 are available, the least allowed (4 − 1).
        #expect(plan.oldReplicas == ["oldest": 1, "older": 2])
        #expect(plan.newReplicas == 0)
    }

    @Test func recreateEmptiesOldSetsBeforeTheNewOneGrows() {
        let new = Counts(name: "new", desired: 0, current: 0, available: 0)
        var plan = RolloutPlanner.plan(replicas: 2, strategy: .recreate, new: new,
                                       old: [Counts(name: "old", desired: 2, current: 2, available: 2)])
        #expect(plan.oldReplicas == ["old": 0])
        #expect(plan.newReplicas == 0)
        plan = RolloutPlanner.plan(replicas: 2, strategy: .recreate, new: new,
                                   old: [Counts(name: "old", desired: 0, current: 1, available: 0)])
        #expect(plan.newReplicas == 0)
        plan = RolloutPlanner.plan(replicas: 2, strategy: .recreate, new: new,
                                   old: [Counts(name: "old", desired: 0, current: 0, available: 0)])
        #expect(plan.newReplicas == 2)
    }

    @Test func scalingDownTakesTheNewSetToTheDesiredCount() {
        let plan = RolloutPlanner.plan(replicas: 1, strategy: .rollingUpdate(maxSurge: 1, maxUnavailable: 0),
                                       new: Counts(name: "new", desired: 5, current: 5, available: 5), old: [])
        #expect(plan.newReplicas == 1)
    }

    @Test func surgeRoundsUpAndUnavailabilityDown() throws {
        let defaults = try RolloutPlanner.rollingLimits(maxSurge: nil, maxUnavailable: nil, replicas: 10)
        #expect(defaults.maxSurge == 3)
        #expect(defaults.maxUnavailable == 2)
        let small = try RolloutPlanner.rollingLimits(maxSurge: nil, maxUnavailable: nil, replicas: 3)
        #expect(small.maxSurge == 1)
        #expect(small.maxUnavailable == 0)
        let zeros = try RolloutPlanner.rollingLimits(maxSurge: 0, maxUnavailable: "0%", replicas: 3)
        #expect(zeros.maxUnavailable == 1)
        #expect(throws: RolloutError.self) { try RolloutPlanner.rollingLimits(maxSurge: "lots", maxUnavailable: nil, replicas: 3) }
    }
}

@Suite struct ControllerTemplateHashTests {
    @Test func theHashIsFNV32aEncodedInTheSafeAlphabet() {
        #expect(PodTemplateHash.fnv32a([]) == 0x811C_9DC5)
        #expect(PodTemplateHash.fnv32a(Array("a".utf8)) == 0xE40C_292C)
        #expect(PodTemplateHash.safeEncode("0123456789") == "456789bcdf")
        let template: JSONValue = ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c"]]]]
        let hash = PodTemplateHash.hash(template: template)
        #expect(hash == PodTemplateHash.safeEncode(String(PodTemplateHash.fnv32a(Array(template.encoded())))))
        #expect(hash.allSatisfy { PodTemplateHash.alphabet.contains($0) })
        #expect(hash == PodTemplateHash.hash(template: template))
        var changed = template
        changed[path: ["spec", "containers"]] = [["name": "d"]]
        #expect(PodTemplateHash.hash(template: changed) != hash)
        #expect(PodTemplateHash.hash(template: template, collisionCount: 1) != hash)
    }
}

/// A store in a scratch directory that is removed afterwards.
final class ControllerScratchStore: Sendable {
    let directory: APIScratchDirectory
    let store: ObjectStore

    init() throws {
        directory = try APIScratchDirectory()
        store = try ObjectStore(path: directory.databasePath)
    }
}

@Suite struct ControllerReconcileTests {
    let logger = Logger(label: "test.controllers")

    func deployment(_ name: String, replicas: Int64, command: [JSONValue] = ["sleep", "3600"]) -> JSONValue {
        [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": [
                "replicas": .int(replicas), "selector": ["matchLabels": ["app": .string(name)]],
                "template": [
                    "metadata": ["labels": ["app": .string(name)]],
                    "spec": ["containers": [["name": "main", "image": "busybox", "command": .array(command)]]],
                ],
            ],
        ]
    }

    /// Marks every pod running and ready, as the scheduler would once their tasks run.
    func makeAllPodsReady(_ store: ObjectStore) async throws {
        for pod in await store.list(.pods, namespace: nil).items where pod[path: ["status", "phase"]] != "Running" {
            _ = try await store.modify(.pods, namespace: pod.namespace, name: pod.name, status: true) { pod in
                pod["status"] = ["phase": "Running", "conditions": [["type": "Ready", "status": "True",
                                                                      "lastTransitionTime": "2020-01-01T00:00:00Z"]]]
            }
        }
    }

    @Test func aDeploymentGetsAHashedReplicaSetWhosePodsItOwns() async throws {
        let scratch = try ControllerScratchStore()
        let store = scratch.store
        let created = try await store.create(.deployments, namespace: "default", object: deployment("web", replicas: 3))
        let deployments = DeploymentController(store: store, logger: logger)
        let sets = ReplicaSetController(store: store, logger: logger)
        await deployments.reconcileAll()
        let replicaSets = await store.list(.replicaSets, namespace: "default").items
        #expect(replicaSets.count == 1)
        let set = try #require(replicaSets.first)
        let hash = PodTemplateHash.hash(template: created[path: ["spec", "template"]]!)
        #expect(set.name == "web-\(hash)")
        #expect(set[path: ["spec", "replicas"]] == 3)
        #expect(set[path: ["spec", "selector", "matchLabels", "pod-template-hash"]] == .string(hash))
        #expect(set[path: ["spec", "template", "metadata", "labels", "pod-template-hash"]] == .string(hash))
        #expect(set[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]] == "1")
        #expect(set[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"] == created[path: ["metadata", "uid"]])

        await sets.reconcileAll()
        let pods = await store.list(.pods, namespace: "default").items
        #expect(pods.count == 3)
        for pod in pods {
            #expect(pod.name.hasPrefix("web-\(hash)-"))
            #expect(pod.labels["pod-template-hash"] == hash)
            let owner = pod[path: ["metadata", "ownerReferences"]]?.arrayValue?.first
            #expect(owner?["kind"] == "ReplicaSet")
            #expect(owner?["controller"] == true)
            #expect(owner?["blockOwnerDeletion"] == true)
        }

        // Once the pods are ready the rollout is complete, as `kubectl rollout status` checks it.
        try await makeAllPodsReady(store)
        await sets.reconcileAll()
        await deployments.reconcileAll()
        let status = try await store.get(.deployments, namespace: "default", name: "web")["status"]
        #expect(status?["replicas"] == 3)
        #expect(status?["updatedReplicas"] == 3)
        #expect(status?["availableReplicas"] == 3)
        #expect(status?["observedGeneration"] == 1)
        let progressing = status?["conditions"]?.arrayValue?.first { $0["type"] == "Progressing" }
        #expect(progressing?["reason"] == "NewReplicaSetAvailable")
    }

    @Test func aReplicaSetReplacesDeletedPodsAndDropsSurplusOnes() async throws {
        let scratch = try ControllerScratchStore()
        let store = scratch.store
        _ = try await store.create(.deployments, namespace: "default", object: deployment("web", replicas: 2))
        let deployments = DeploymentController(store: store, logger: logger)
        let sets = ReplicaSetController(store: store, logger: logger)
        await deployments.reconcileAll()
        await sets.reconcileAll()
        let first = await store.list(.pods, namespace: "default").items
        #expect(first.count == 2)
        _ = try await store.delete(.pods, namespace: "default", name: first[0].name)
        await sets.reconcileAll()
        let replaced = await store.list(.pods, namespace: "default").items
        #expect(replaced.count == 2)
        #expect(!replaced.contains { $0.name == first[0].name })

        _ = try await store.modify(.deployments, namespace: "default", name: "web") { $0[path: ["spec", "replicas"]] = 1 }
        await deployments.reconcileAll()
        await sets.reconcileAll()
        #expect(await store.list(.pods, namespace: "default").items.count == 1)
    }

    @Test func aChangedTemplateRollsOutThroughANewReplicaSet() async throws {
        let scratch = try ControllerScratchStore()
        let store = scratch.store
        _ = try await store.create(.deployments, namespace: "default", object: deployment("web", replicas: 2))
        let deployments = DeploymentController(store: store, logger: logger)
        let sets = ReplicaSetController(store: store, logger: logger)
        await deployments.reconcileAll()
        await sets.reconcileAll()
        try await makeAllPodsReady(store)
        await sets.reconcileAll()

        _ = try await store.modify(.deployments, namespace: "default", name: "web") {
            $0[path: ["spec", "template", "spec", "containers"]] = [["name": "main", "image": "busybox", "command": ["sleep", "7200"]]]
        }
        // Reconcile until the rollout settles: every pass is one step of the rolling update.
        for _ in 0..<20 {
            await deployments.reconcileAll()
            await sets.reconcileAll()
            try await makeAllPodsReady(store)
            await sets.reconcileAll()
            let pods = await store.list(.pods, namespace: "default").items.filter { !ObjectReferences.isDeleting($0) }
            #expect(pods.count <= 3, "never more than replicas + maxSurge pods")
        }
        let replicaSets = await store.list(.replicaSets, namespace: "default").items
            .sorted { $0[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]]?.stringValue ?? ""
                < $1[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]]?.stringValue ?? "" }
        #expect(replicaSets.count == 2)
        #expect(replicaSets.map { $0[path: ["spec", "replicas"]] } == [0, 2])
        let pods = await store.list(.pods, namespace: "default").items
        #expect(pods.count == 2)
        #expect(pods.allSatisfy { $0[path: ["spec", "containers"]]?.arrayValue?.first?["command"] == ["sleep", "7200"] })
        let deployment = try await store.get(.deployments, namespace: "default", name: "web")
        #expect(deployment[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]] == "2")
        #expect(deployment[path: ["status", "updatedReplicas"]] == 2)
    }

    @Test func deletingADeploymentCascadesToItsReplicaSetsAndPods() async throws {
        let scratch = try ControllerScratchStore()
        let store = scratch.store
        _ = try await store.create(.deployments, namespace: "default", object: deployment("web", replicas: 2))
        await DeploymentController(store: store, logger: logger).reconcileAll()
        await ReplicaSetController(store: store, logger: logger).reconcileAll()
        #expect(await store.list(.pods, namespace: "default").items.count == 2)
        // A pod placed on a node is deleted gracefully (the scheduler kills its tasks first).
        let placed = await store.list(.pods, namespace: "default").items[0]
        _ = try await store.modify(.pods, namespace: "default", name: placed.name) { $0[path: ["spec", "nodeName"]] = "a" }

        _ = try await store.delete(.deployments, namespace: "default", name: "web")
        let collector = GarbageCollector(store: store, logger: logger)
        await collector.collect()
        #expect(await store.list(.replicaSets, namespace: "default").items.isEmpty)
        await collector.collect()
        let left = await store.list(.pods, namespace: "default").items
        #expect(left.map(\.name) == [placed.name])
        #expect(left.first.map(ObjectReferences.isDeleting) == true)
    }
}
