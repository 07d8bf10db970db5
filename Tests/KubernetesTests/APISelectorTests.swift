import Testing
@testable import Kubernetes

@Suite struct APISelectorTests {
    @Test(arguments: [
        ("app=web", ["app": "web"], true),
        ("app==web", ["app": "db"], false),
        ("app!=web", ["app": "db"], true),
        ("app!=web", [:], true),
        ("app=web,tier=front", ["app": "web"], false),
        ("env in (prod, staging)", ["env": "staging"], true),
        ("env in (prod,staging)", [:], false),
        ("env notin (prod)", [:], true),
        ("env notin (prod)", ["env": "prod"], false),
        ("legacy", ["legacy": ""], true),
        ("!legacy", ["legacy": ""], false),
        ("", ["any": "thing"], true),
    ] as [(String, [String: String], Bool)])
    func parsedSelectors(text: String, labels: [String: String], expected: Bool) throws {
        #expect(try LabelSelector(parsing: text).matches(labels) == expected)
    }

    @Test func malformedSelectorsNameTheProblem() {
        let error = #expect(throws: APIError.self) { try LabelSelector(parsing: "env in prod") }
        #expect(error?.code == 400)
        #expect(error?.message.contains("env in prod") == true)
        #expect(throws: APIError.self) { try LabelSelector(parsing: "a=b=c") }
    }

    @Test func selectorObjects() {
        let selector = LabelSelector(matchLabels: [
            "matchLabels": ["app": "web"],
            "matchExpressions": [["key": "tier", "operator": "In", "values": ["a", "b"]], ["key": "old", "operator": "DoesNotExist"]],
        ])
        #expect(selector.matches(["app": "web", "tier": "a"]))
        #expect(!selector.matches(["app": "web", "tier": "c"]))
        #expect(!selector.matches(["app": "web", "tier": "a", "old": "1"]))
        #expect(!LabelSelector(matchLabels: nil).matches([:]))
        #expect(LabelSelector(matchLabels: [:]).matches(["x": "y"]))
        #expect(!LabelSelector(matchLabels: ["matchExpressions": [["key": "a", "operator": "Near"]]]).matches(["a": "b"]))
        #expect(LabelSelectorText.format(["matchLabels": ["b": "2", "a": "1"],
                                          "matchExpressions": [["key": "t", "operator": "NotIn", "values": ["x"]]]])
                == "a=1,b=2,t notin (x)")
    }

    @Test func fieldSelectorsParse() throws {
        let query = QueryParameters("fieldSelector=involvedObject.name%3Dweb,involvedObject.namespace%3Ddefault&labelSelector=env+in+(a,b)")
        #expect(try query.fieldSelector() == ["involvedObject.name": "web", "involvedObject.namespace": "default"])
        #expect(try query.labelSelector()?.matches(["env": "b"]) == true)
        #expect(throws: APIError.self) { try QueryParameters("fieldSelector=a!=b").fieldSelector() }
    }
}
