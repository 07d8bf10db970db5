import AgoraProto
import Foundation
import Framework
@testable import Kubernetes
import Resources
import Testing

/// An offer from agent `agentID` on `hostname` with `resources`.
func makeOffer(_ id: String, agentID: String, hostname: String, resources: String,
               attributes: String = "") throws -> OfferResources {
    var offer = Agora_V1_Offer()
    offer.id.value = id
    offer.agentID.value = agentID
    offer.hostname = hostname
    offer.resources = try Resources(parsing: resources).proto
    offer.attributes = try Attributes(parsing: attributes).proto
    return try OfferResources(offer)
}

/// A pod with the given containers (JSON objects) and extra spec fields.
func makePod(_ name: String, containers: [JSONValue], spec: [String: JSONValue] = [:], uid: String = "0a1b2c3d-4e5f") -> JSONValue {
    var specObject = spec
    specObject["containers"] = .array(containers)
    return [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name), "namespace": "default", "uid": .string(uid)],
        "spec": .object(specObject),
    ]
}

func container(_ name: String, command: [String] = ["sleep", "100"], resources: JSONValue? = nil,
               extra: [String: JSONValue] = [:]) -> JSONValue {
    var object = extra
    object["name"] = .string(name)
    object["image"] = "busybox"
    if !command.isEmpty { object["command"] = .array(command.map(JSONValue.string)) }
    if let resources { object["resources"] = resources }
    return .object(object)
}

@Suite struct SchedulingRequirementsTests {
    @Test func containersWithoutResourcesGetK8smDefaultsAndThePodPaysForItsExecutor() throws {
        let pod = makePod("web", containers: [container("a"), container("b")])
        let requirements = try PodRequirements(pod: pod)
        #expect(requirements.containers.map(\.cpus) == [0.25, 0.25])
        #expect(requirements.containers.map(\.memoryMB) == [64, 64])
        #expect(abs(requirements.totalCPUs - 0.6) < 1e-9)
        #expect(requirements.totalMemoryMB == 160)
    }

    @Test func limitsWinOverRequestsAndAMissingOneCopiesTheOther() throws {
        let pod = makePod("web", containers: [
            container("limits", resources: ["limits": ["cpu": "500m", "memory": "128Mi"], "requests": ["cpu": "250m"]]),
            container("requests", resources: ["requests": ["cpu": 1, "memory": "1Gi"]]),
        ])
        let requirements = try PodRequirements(pod: pod)
        #expect(requirements.containers[0].cpus == 0.5)
        #expect(requirements.containers[0].memoryMB == 128)
        #expect(requirements.containers[1].cpus == 1)
        #expect(requirements.containers[1].memoryMB == 1_024)
    }

    @Test func badSpecsAreErrorsNamingTheField() {
        let badQuantity = makePod("web", containers: [container("a", resources: ["limits": ["memory": "lots"]])])
        #expect(throws: PodSpecError.self) { try PodRequirements(pod: badQuantity) }
        do {
            _ = try PodRequirements(pod: badQuantity)
        } catch {
            #expect(error.message.contains("spec.containers[0].resources.limits.memory"))
        }
        let requestAboveLimit = makePod("web", containers: [
            container("a", resources: ["limits": ["cpu": "1"], "requests": ["cpu": "2"]]),
        ])
        #expect(throws: PodSpecError.self) { try PodRequirements(pod: requestAboveLimit) }
        let noContainers = makePod("web", containers: [])
        #expect(throws: PodSpecError.self) { try PodRequirements(pod: noContainers) }
        let badOperator = makePod("web", containers: [container("a")], spec: [
            "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": [
                "nodeSelectorTerms": [["matchExpressions": [["key": "zone", "operator": "Near", "values": ["a"]]]]],
            ]]],
        ])
        #expect(throws: PodSpecError.self) { try PodRequirements(pod: badOperator) }
    }
}

@Suite struct SchedulingPlacementTests {
    @Test func severalPodsShareAnOfferAndSpreadOverNodes() throws {
        let nodes = [
            NodeOffer(try makeOffer("o1", agentID: "A", hostname: "a", resources: "cpus:4;mem:4096")),
            NodeOffer(try makeOffer("o2", agentID: "B", hostname: "b", resources: "cpus:4;mem:4096")),
        ]
        let pod = try PodRequirements(pod: makePod("web", containers: [container("c")]))
        let outcome = PodPlacer.place([pod, pod, pod, pod], on: nodes)
        #expect(outcome.failures.isEmpty)
        let perNode = Dictionary(grouping: outcome.placements, by: \.nodeIndex).mapValues(\.count)
        #expect(perNode == [0: 2, 1: 2])
        #expect(outcome.nodes[0].offer.remaining.mem.doubleValue == 4_096 - 2 * 96)
    }

    @Test func aPodTooBigForEveryNodeGetsKubeSchedulersReason() throws {
        let nodes = [
            NodeOffer(try makeOffer("o1", agentID: "A", hostname: "a", resources: "cpus:4;mem:1024")),
            NodeOffer(try makeOffer("o2", agentID: "B", hostname: "b", resources: "cpus:0.2;mem:1024")),
        ]
        let pod = try PodRequirements(pod: makePod("big", containers: [
            container("c", resources: ["requests": ["memory": "2Gi"]]),
        ]))
        let outcome = PodPlacer.place([pod], on: nodes)
        #expect(outcome.placements.isEmpty)
        #expect(outcome.failures[0] == "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.")
        #expect(PodPlacer.place([pod], on: []).failures[0] == "0/0 nodes are available: no agent has offered resources.")
    }

    @Test func nodeNameSelectorAndAffinityChooseTheNode() throws {
        let nodes = [
            NodeOffer(try makeOffer("o1", agentID: "A", hostname: "a", resources: "cpus:4;mem:4096", attributes: "zone:east;rack:r1")),
            NodeOffer(try makeOffer("o2", agentID: "B", hostname: "b", resources: "cpus:4;mem:4096", attributes: "zone:west")),
        ]
        #expect(nodes[0].labels == ["zone": "east", "rack": "r1", "kubernetes.io/hostname": "a", "kubernetes.io/os": "linux"])
        func placeOn(_ spec: [String: JSONValue]) throws -> PodPlacer.Outcome {
            PodPlacer.place([try PodRequirements(pod: makePod("p", containers: [container("c")], spec: spec))], on: nodes)
        }
        #expect(try placeOn(["nodeName": "b"]).placements.first?.nodeIndex == 1)
        #expect(try placeOn(["nodeSelector": ["zone": "east"]]).placements.first?.nodeIndex == 0)
        #expect(try placeOn(["nodeSelector": ["zone": "north"]]).failures[0]
            == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")
        #expect(try placeOn(["nodeName": "c"]).failures[0]
            == "0/2 nodes are available: 2 node(s) didn't match the requested node name.")

        func affinity(_ expressions: [JSONValue]) -> [String: JSONValue] {
            ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": [
                "nodeSelectorTerms": [["matchExpressions": .array(expressions)]],
            ]]]]
        }
        #expect(try placeOn(affinity([["key": "zone", "operator": "In", "values": ["west", "south"]]])).placements.first?.nodeIndex == 1)
        #expect(try placeOn(affinity([["key": "zone", "operator": "NotIn", "values": ["east"]]])).placements.first?.nodeIndex == 1)
        #expect(try placeOn(affinity([["key": "rack", "operator": "Exists"]])).placements.first?.nodeIndex == 0)
        #expect(try placeOn(affinity([["key": "rack", "operator": "DoesNotExist"]])).placements.first?.nodeIndex == 1)
        #expect(try placeOn(affinity([["key": "rack", "operator": "Exists"], ["key": "zone", "operator": "In", "values": ["west"]]]))
            .failures[0] == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")
    }

    @Test func hostPortsComeFromOfferedRangesAndAreNotGivenTwice() throws {
        let nodes = [
            NodeOffer(try makeOffer("o1", agentID: "A", hostname: "a", resources: "cpus:4;mem:4096;ports:[31000-31010]")),
            NodeOffer(try makeOffer("o2", agentID: "B", hostname: "b", resources: "cpus:4;mem:4096;ports:[31000-31010]")),
        ]
        let withPort = try PodRequirements(pod: makePod("p", containers: [
            container("c", extra: ["ports": [["containerPort": 8080, "hostPort": 31005]]]),
        ]))
        #expect(withPort.hostPorts == [31005])
        let outcome = PodPlacer.place([withPort, withPort, withPort], on: nodes)
        #expect(Set(outcome.placements.map(\.nodeIndex)) == [0, 1])
        #expect(outcome.failures[2] == "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.")
        let outside = try PodRequirements(pod: makePod("p", containers: [
            container("c", extra: ["ports": [["containerPort": 80, "hostPort": 80]]]),
        ]))
        #expect(PodPlacer.place([outside], on: nodes).placements.isEmpty)
    }
}

@Suite struct SchedulingTaskGroupTests {
    @Test func taskIDsRoundTripEvenWithDotsInThePodName() {
        let id = PodTaskID(namespace: "prod", podName: "web.v2", container: "nginx", uid: "0a1b2c3d-4e5f-6789", attempt: 3)
        #expect(id.value == "pod.prod.web.v2.nginx.0a1b2c3d.3")
        #expect(PodTaskID(parsing: id.value) == id)
        #expect(PodTaskID(parsing: "hello-1") == nil)
        #expect(PodTaskID(parsing: "pod.a.b.c.d.x") == nil)
    }

    @Test func eachContainerBecomesATaskRunningItsCommandDirectly() throws {
        let pod = makePod("web", containers: [
            container("main", command: ["/bin/echo"], resources: ["limits": ["cpu": "500m", "memory": "128Mi"]], extra: [
                "args": ["hello", "world"],
                "env": [
                    ["name": "GREETING", "value": "hi"],
                    ["name": "POD", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
                    ["name": "IP", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]],
                ],
                "ports": [["containerPort": 80, "hostPort": 31001]],
            ]),
            container("side", command: ["sleep", "60"], extra: ["workingDir": "/tmp"]),
        ], spec: ["terminationGracePeriodSeconds": 5])
        let requirements = try PodRequirements(pod: pod)
        let group = try PodTaskGroup.build(pod: pod, requirements: requirements,
                                           placement: .init(agentID: "A", nodeName: "a", hostIP: "10.0.0.5", attempt: 2))
        #expect(group.executor.type == .default)
        #expect(group.executor.executorID.value == "pod.default.web.0a1b2c3d.2")
        #expect(try Resources(proto: group.executor.resources) == Resources(parsing: "cpus:0.1;mem:32"))
        #expect(group.tasks.map(\.taskID.value) == ["pod.default.web.main.0a1b2c3d.2", "pod.default.web.side.0a1b2c3d.2"])
        let main = group.tasks[0]
        #expect(main.agentID.value == "A")
        #expect(main.command.shell == false)
        #expect(main.command.value == "/bin/echo")
        #expect(main.command.arguments == ["/bin/echo", "hello", "world"])
        let environment = Dictionary(uniqueKeysWithValues: main.command.environment.variables.map { ($0.name, $0.value) })
        #expect(environment == ["GREETING": "hi", "POD": "web", "IP": "10.0.0.5"])
        #expect(try Resources(proto: main.resources) == Resources(parsing: "cpus:0.5;mem:128;ports:[31001-31001]"))
        #expect(main.killPolicy.gracePeriod.nanoseconds == 5_000_000_000)
        let side = group.tasks[1]
        #expect(side.command.value == "/bin/sh")
        #expect(side.command.arguments == ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", "/tmp", "sleep", "60"])
    }

    @Test func containersWithoutACommandAreNotRunAndSecretsAreRefused() throws {
        let pod = makePod("web", containers: [container("nginx", command: []), container("ok")])
        #expect(PodTaskGroup.containersWithoutCommand(pod) == ["nginx"])
        let secret = makePod("web", containers: [container("c", extra: [
            "env": [["name": "PASSWORD", "valueFrom": ["secretKeyRef": ["name": "s", "key": "k"]]]],
        ])])
        #expect(throws: PodSpecError.self) {
            try PodTaskGroup.build(pod: secret, requirements: try PodRequirements(pod: secret),
                                   placement: .init(agentID: "A", nodeName: "a", hostIP: "1.2.3.4", attempt: 0))
        }
    }
}
