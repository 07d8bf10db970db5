import Foundation
import Testing
@testable import Kubernetes

@Suite struct APIPatchTests {
    private func json(_ text: String) throws -> JSONValue { try JSONValue(data: Data(text.utf8)) }

    @Test func mergePatchMergesObjectsReplacesListsAndDeletesNulls() throws {
        let target = try json(#"{"a":{"b":1,"c":2},"list":[1,2],"gone":"x"}"#)
        let patched = Patch.merge(target, try json(#"{"a":{"b":null,"d":3},"list":[3],"gone":null}"#))
        #expect(patched == (try json(#"{"a":{"c":2,"d":3},"list":[3]}"#)))
    }

    @Test func strategicMergeAppliesKubectlApplysUpdatePatch() throws {
        let current = try json("""
            {"metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"old"}},
             "spec":{"replicas":3,"template":{"spec":{"containers":[
                {"name":"nginx","image":"nginx:1.25","ports":[{"containerPort":80}]},
                {"name":"sidecar","image":"busybox"}]}}}}
            """)
        // The patch kubectl 1.20/1.28 sent when only the image changed (reference §2.4).
        let patch = try json("""
            {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"new"}},
             "spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],
                                          "containers":[{"image":"nginx:1.26","name":"nginx"}]}}}}
            """)
        let patched = try Patch.strategicMerge(current, patch)
        #expect(patched[path: ["metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"]] == "new")
        #expect(patched[path: ["spec", "replicas"]] == 3)
        let containers = patched[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
        #expect(containers.count == 2)
        #expect(containers.first?["image"] == "nginx:1.26")
        #expect(containers.first?["ports"] == [["containerPort": 80]])
        #expect(containers.last?["name"] == "sidecar")
        #expect(patched[path: ["spec", "template", "spec", "$setElementOrder/containers"]] == nil)
    }

    @Test func strategicMergeDirectives() throws {
        let current = try json("""
            {"spec":{"containers":[{"name":"a","image":"x","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
                                   {"name":"b","image":"y"}],
                     "finalizers":["f1","f2"],
                     "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}},
                     "nodeSelector":{"zone":"a","rack":"r1"}}}
            """)
        let patch = try json("""
            {"spec":{"containers":[{"name":"b","$patch":"delete"},
                                   {"name":"a","env":[{"name":"B","value":"3"},{"name":"C","value":"4"},{"name":"A","$patch":"delete"}]}],
                     "$deleteFromPrimitiveList/finalizers":["f1"],
                     "strategy":{"$retainKeys":["type"],"type":"Recreate"},
                     "nodeSelector":{"$patch":"replace","zone":"b"}}}
            """)
        let patched = try Patch.strategicMerge(current, patch)
        let containers = patched[path: ["spec", "containers"]]?.arrayValue ?? []
        #expect(containers.map { $0["name"] } == ["a"])
        #expect(containers.first?["env"] == [["name": "B", "value": "3"], ["name": "C", "value": "4"]])
        #expect(patched[path: ["spec", "finalizers"]] == ["f2"])
        #expect(patched[path: ["spec", "strategy"]] == ["type": "Recreate"])
        #expect(patched[path: ["spec", "nodeSelector"]] == ["zone": "b"])
    }

    @Test func strategicMergeReplacesListsWithoutMergeKeysAndDeletesNulls() throws {
        let current = try json(#"{"spec":{"tolerations":[{"key":"a"}],"hostNetwork":true,"containers":[{"name":"a","args":["x","y"]}]}}"#)
        let patch = try json(#"{"spec":{"tolerations":[{"key":"b"}],"hostNetwork":null,"containers":[{"name":"a","args":["z"]}]}}"#)
        let patched = try Patch.strategicMerge(current, patch)
        #expect(patched == (try json(#"{"spec":{"tolerations":[{"key":"b"}],"containers":[{"name":"a","args":["z"]}]}}"#)))
    }

    @Test func setElementOrderReordersMergedList() throws {
        let current = try json(#"{"containers":[{"name":"a"},{"name":"b"}]}"#)
        let patch = try json(#"{"$setElementOrder/containers":[{"name":"c"},{"name":"b"},{"name":"a"}],"containers":[{"name":"c","image":"i"}]}"#)
        let patched = try Patch.strategicMerge(current, patch)
        #expect(patched["containers"]?.arrayValue?.map { $0["name"] } == ["c", "b", "a"])
    }

    @Test func jsonPatchOperations() throws {
        let target = try json(#"{"spec":{"replicas":1,"list":["a","b"]},"metadata":{"labels":{"a/b":"x"}}}"#)
        let operations = try json("""
            [{"op":"test","path":"/spec/replicas","value":1},
             {"op":"replace","path":"/spec/replicas","value":4},
             {"op":"add","path":"/spec/list/-","value":"c"},
             {"op":"add","path":"/spec/list/0","value":"z"},
             {"op":"remove","path":"/spec/list/1"},
             {"op":"copy","from":"/spec/replicas","path":"/spec/copied"},
             {"op":"move","from":"/metadata/labels/a~1b","path":"/metadata/labels/moved"}]
            """)
        let patched = try Patch.json(target, operations)
        #expect(patched == (try json(#"{"spec":{"replicas":4,"copied":4,"list":["z","b","c"]},"metadata":{"labels":{"moved":"x"}}}"#)),
                "\(patched.encodedString)")
    }

    @Test func jsonPatchFailuresAreErrors() throws {
        let target = try json(#"{"spec":{"replicas":1}}"#)
        let failedTest = #expect(throws: APIError.self) {
            try Patch.json(target, try json(#"[{"op":"test","path":"/spec/replicas","value":2}]"#))
        }
        #expect(failedTest?.code == 422)
        let missing = #expect(throws: APIError.self) {
            try Patch.json(target, try json(#"[{"op":"remove","path":"/spec/nothing"}]"#))
        }
        #expect(missing?.message.contains("no member \"nothing\"") == true)
        #expect(throws: APIError.self) { try Patch.json(target, try json(#"{"op":"add"}"#)) }
    }
}
