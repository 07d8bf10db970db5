import Foundation
import Testing
@testable import Marathon

@Suite("Marathon wire basics: JSON, errors, ids, timestamps")
struct ModelBasicsTests {
    // MARK: MarathonJSON

    @Test func parsesAndSerializesJSON() throws {
        let json = try MarathonJSON.parse(#"{"b": [1, 2.5, -3e2, true, null], "a": "x\"\u00e9\n/"}"#)
        #expect(json["a"] == .string("x\"é\n/"))
        #expect(json["b"] == .array([.number(1), .number(2.5), .number(-300), .bool(true), .null]))
        #expect(json.serialized == #"{"a":"x\"é\n/","b":[1,2.5,-300,true,null]}"#)
        #expect(try MarathonJSON.parse(json.serialized) == json)
    }

    @Test func emptyBodyIsPleaseSpecifyData() {
        #expect(throws: MarathonAPIError.emptyBody) { try MarathonJSON.parse("  \n") }
        #expect(MarathonAPIError.emptyBody.status == 400)
        #expect(MarathonAPIError.emptyBody.message == "Please specify data in JSON format")
    }

    @Test(arguments: [#"{"id": }"#, #"{"id": "a""#, "[1,]", "{'id': 1}", "01", #"{"a":1} x"#, "tru"])
    func malformedJSONIsA400WithParserDetails(text: String) {
        do {
            _ = try MarathonJSON.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.status == 400)
            #expect(error.message == "Invalid JSON")
            let details = error.body["details"]?.stringValue ?? ""
            #expect(details.contains("line 1, column"), "details: \(details)")
        }
    }

    @Test func deepNestingIsRejectedNotACrash() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: MarathonAPIError.self) { try MarathonJSON.parse(text) }
    }

    // MARK: Errors

    @Test func errorBodiesHaveMarathonsShapes() {
        let invalid = MarathonAPIError.invalidJSON([.init(path: "/id", "error.expected.jsstring")])
        #expect(invalid.status == 422)
        #expect(invalid.body.serialized
            == #"{"details":[{"errors":["error.expected.jsstring"],"path":"/id"}],"message":"Invalid JSON"}"#)

        let notValid = MarathonAPIError.notValid([
            .init(path: "/upgradeStrategy/minimumHealthCapacity", "is greater than 1"),
            .init(path: "/cpus", "got -1, expected 0 or more"),
            .init(path: "/upgradeStrategy/minimumHealthCapacity", "another"),
        ])
        #expect(notValid.message == "Object is not valid")
        #expect(notValid.violations == [
            .init(path: "/upgradeStrategy/minimumHealthCapacity", errors: ["is greater than 1", "another"]),
            .init(path: "/cpus", errors: ["got -1, expected 0 or more"]),
        ])

        #expect(MarathonAPIError.appNotFound(PathID("x")).body.serialized == #"{"message":"App '/x' does not exist"}"#)
        #expect(MarathonAPIError.appNotFound(PathID("x")).status == 404)
        let exists = MarathonAPIError.appExists(PathID("/x"))
        #expect(exists.status == 409 && exists.message == "An app with id [/x] already exists.")
        let locked = MarathonAPIError.appLocked(deploymentIDs: ["d1"])
        #expect(locked.status == 409)
        #expect(locked.body["deployments"] == .array([.object(["id": .string("d1")])]))
        #expect(locked.message.contains("'/v2/deployments/d1'"))
    }

    // MARK: PathID

    @Test(arguments: [
        ("test-app", "/test-app"), ("/group//app/", "/group/app"), ("//a", "/a"), ("/a/./b/../c", "/a/c"),
        ("/", "/"), ("a.b/c", "/a.b/c"),
    ])
    func pathIDNormalizes(input: String, expected: String) {
        #expect(PathID(input).description == expected)
    }

    @Test func pathIDValidatesSegmentsAndReservedNames() {
        #expect(PathID("/group/my-app.v2").violations.isEmpty)
        #expect(PathID("/Foo").violations.first?.hasPrefix("must fully match regular expression") == true)
        #expect(!PathID("/-app").violations.isEmpty)
        #expect(!PathID("/app-").violations.isEmpty)
        #expect(!PathID("/my_app").violations.isEmpty)
        #expect(!PathID("/a..b").violations.isEmpty)
        #expect(PathID("/").violations == ["Path must contain at least one path element"])
        for reserved in ["restart", "tasks", "versions"] {
            #expect(PathID("/group/\(reserved)").violations.count == 1)
        }
        #expect(PathID("/tasks/app").violations.isEmpty)
    }

    @Test func safeNameIsReversible() {
        let id = PathID("/prod/web/frontend")
        #expect(id.safeName == "prod_web_frontend")
        #expect(PathID(safeName: id.safeName) == id)
        #expect(id.parent == PathID("/prod/web"))
        #expect(id.isDescendant(of: PathID("/prod")) && !id.isDescendant(of: PathID("/pro")))
    }

    @Test func taskIDsParseBothForms() throws {
        let id = MarathonTaskID(appID: PathID("/group/app"), uuid: "3f1c-aa", attempt: 2)
        #expect(id.description == "group_app.instance-3f1c-aa._app.2")
        #expect(id.instanceID == "group_app.instance-3f1c-aa")
        #expect(MarathonTaskID(parsing: id.description) == id)
        let dotted = try #require(MarathonTaskID(parsing: "my.app.instance-u1._app.1"))
        #expect(dotted.appID == PathID("/my.app") && dotted.uuid == "u1")
        let legacy = try #require(MarathonTaskID(parsing: "grp_app.5e6d-11"))
        #expect(legacy.appID == PathID("/grp/app") && legacy.attempt == nil)
        #expect(MarathonTaskID(parsing: "nodot") == nil)
        #expect(MarathonTaskID(parsing: ".x") == nil)
    }

    // MARK: Timestamps

    @Test func timestampsFormatWithMilliseconds() {
        #expect(MarathonTimestamp(millisecondsSince1970: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(MarathonTimestamp(millisecondsSince1970: 1_714_564_800_123).description == "2024-05-01T12:00:00.123Z")
        #expect(MarathonTimestamp(millisecondsSince1970: 951_782_400_000).description == "2000-02-29T00:00:00.000Z")
        #expect(MarathonTimestamp(millisecondsSince1970: -1).description == "1969-12-31T23:59:59.999Z")
    }

    @Test(arguments: [
        ("2024-05-01T12:00:00.123Z", 1_714_564_800_123), ("2024-05-01T12:00:00Z", 1_714_564_800_000),
        ("2024-05-01T12:00:00.1Z", 1_714_564_800_100), ("2024-05-01T12:00:00.123456789Z", 1_714_564_800_123),
    ] as [(String, Int64)])
    func timestampsParse(text: String, milliseconds: Int64) {
        #expect(MarathonTimestamp(parsing: text)?.millisecondsSince1970 == milliseconds)
    }

    @Test(arguments: ["2024-05-01T12:00:00.123+00:00", "2024-05-01 12:00:00Z", "2024-13-01T12:00:00Z",
                      "2023-02-29T12:00:00Z", "2024-05-01T12:00:00.Z", "2024-05-01T24:00:00Z", ""])
    func badTimestampsAreRejected(text: String) {
        #expect(MarathonTimestamp(parsing: text) == nil)
    }

    @Test func timestampRoundTripsThroughDateAndCodable() throws {
        let stamp = MarathonTimestamp(Date(timeIntervalSince1970: 1_700_000_000.5679))
        #expect(stamp.millisecondsSince1970 == 1_700_000_000_567)
        #expect(MarathonTimestamp(parsing: stamp.description) == stamp)
        let data = try JSONEncoder().encode([stamp])
        #expect(try JSONDecoder().decode([MarathonTimestamp].self, from: data) == [stamp])
    }
}
