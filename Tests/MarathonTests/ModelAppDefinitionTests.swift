import Foundation
import Framework
import Testing
@testable import Marathon

@Suite("Marathon app definitions: defaults, round trips, validation, updates")
struct ModelAppDefinitionTests {
    func app(_ text: String, defaultID: PathID? = nil) throws(MarathonAPIError) -> AppDefinition {
        try AppDefinition.decode(body: Data(text.utf8), defaultID: defaultID)
    }

    /// The violations a body produces, as `[path: errors]`, and the error's message.
    func rejection(_ text: String) -> (message: String, paths: [String: [String]]) {
        do {
            _ = try app(text)
            return ("accepted", [:])
        } catch {
            #expect(error.status == 422)
            var paths: [String: [String]] = [:]
            for violation in error.violations { paths[violation.path] = violation.errors }
            return (error.message, paths)
        }
    }

    @Test func defaultsAreMarathons() throws {
        let app = try app(#"{"id": "web", "cmd": "sleep 100"}"#)
        #expect(app.id == PathID("/web"))
        #expect(app.instances == 1 && app.cpus == 1 && app.mem == 128 && app.disk == 0 && app.gpus == 0)
        #expect(app.backoffSeconds == 1 && app.backoffFactor == 1.15 && app.maxLaunchDelaySeconds == 300)
        #expect(app.upgradeStrategy == UpgradeStrategy(minimumHealthCapacity: 1, maximumOverCapacity: 1))
        #expect(app.killSelection == .youngestFirst)
        #expect(app.unreachableStrategy == .enabled(inactiveAfterSeconds: 0, expungeAfterSeconds: 0))
        #expect(app.portDefinitions == [PortDefinition(port: 0, protocol: "tcp", name: "default")])
        #expect(app.networks == [AppNetwork(mode: .host)])
        #expect(app.requirePorts == false && app.env.isEmpty && app.labels.isEmpty && app.constraints.isEmpty)
    }

    @Test func healthCheckDefaultsAndPortIndex() throws {
        // Agora runs one health check per app, so the two kinds are read from two apps.
        let web = try app(#"""
        {"id": "/web", "cmd": "python3 -m http.server $PORT0", "healthChecks": [{"path": "/"}]}
        """#)
        let worker = try app(#"""
        {"id": "/worker", "cmd": "work", "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}]}
        """#)
        let http = web.healthChecks[0]
        #expect(http.protocol == .http && http.portIndex == 0 && http.gracePeriodSeconds == 300)
        #expect(http.intervalSeconds == 60 && http.timeoutSeconds == 20 && http.maxConsecutiveFailures == 3)
        #expect(worker.healthChecks[0].command == "true" && worker.healthChecks[0].portIndex == nil)
    }

    @Test func fullDefinitionRoundTrips() throws {
        let text = #"""
        {"id": "/prod/api", "args": ["/bin/api", "--port", "$PORT0"], "user": "nobody",
         "env": {"MODE": "prod"}, "instances": 3, "cpus": 0.25, "mem": 64.5, "disk": 10, "gpus": 0,
         "constraints": [["hostname", "UNIQUE"], ["rack", "MAX_PER", 2], ["zone", "like", "z[12]"]],
         "fetch": [{"uri": "https://example.com/api.tgz", "executable": false, "extract": true, "cache": true}],
         "portDefinitions": [{"port": 0, "name": "http", "labels": {"VIP": "1"}}, {"port": 9000, "protocol": "udp"}],
         "requirePorts": false,
         "container": {"type": "DOCKER", "docker": {"image": "api:1", "forcePullImage": true,
                       "parameters": [{"key": "label", "value": "a=b"}]},
                       "volumes": [{"containerPath": "/data", "hostPath": "/srv/data", "mode": "RO"}]},
         "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 30,
                           "intervalSeconds": 5, "timeoutSeconds": 2, "maxConsecutiveFailures": 0,
                           "ignoreHttp1xx": true, "delaySeconds": 1}],
         "readinessChecks": [{"portName": "http", "path": "/ready", "intervalSeconds": 5, "timeoutSeconds": 2}],
         "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0},
         "backoffSeconds": 2, "backoffFactor": 2, "maxLaunchDelaySeconds": 60, "killSelection": "OLDEST_FIRST",
         "unreachableStrategy": "disabled", "taskKillGracePeriodSeconds": 10, "labels": {"team": "core"},
         "acceptedResourceRoles": ["*", "prod"], "role": "prod", "dependencies": ["/prod/db"],
         "version": "2024-05-01T12:00:00.000Z",
         "versionInfo": {"lastScalingAt": "2024-05-01T12:00:00.000Z", "lastConfigChangeAt": "2024-04-01T00:00:00.000Z"}}
        """#
        let app = try app(text)
        #expect(app.constraints.map(\.description) == ["hostname:UNIQUE", "rack:MAX_PER:2", "zone:LIKE:z[12]"])
        #expect(app.container?.image == "api:1")
        #expect(app.unreachableStrategy == .disabled)
        #expect(app.version == MarathonTimestamp(parsing: "2024-05-01T12:00:00.000Z"))
        let again = try AppDefinition(json: app.json)
        #expect(again == app)
        let viaCodable = try JSONDecoder().decode(AppDefinition.self, from: MarathonJSON.encode(app))
        #expect(viaCodable == app)
        #expect(app.json["unreachableStrategy"] == .string("disabled"))
        #expect(app.json["constraints"] == .array([
            .array([.string("hostname"), .string("UNIQUE")]),
            .array([.string("rack"), .string("MAX_PER"), .string("2")]),
            .array([.string("zone"), .string("LIKE"), .string("z[12]")]),
        ]))
    }

    @Test func encodingLeavesOutKeysWithoutValues() throws {
        let app = try app(#"{"id": "/a", "cmd": "true"}"#)
        let keys = Set(app.json.objectValue?.keys ?? [:].keys)
        for absent in ["args", "user", "container", "taskKillGracePeriodSeconds", "acceptedResourceRoles", "role",
                       "version", "versionInfo", "uris", "ports"] {
            #expect(!keys.contains(absent), "\(absent) should be left out")
        }
        #expect(try !MarathonJSON.from(app).serialized.contains("null"))
    }

    @Test func legacyURIsAndPortsAreTranslated() throws {
        let app = try app(#"""
        {"id": "/a", "cmd": "true", "uris": ["http://x/app.tar.gz", "http://x/run.sh"], "ports": [8080, 0]}
        """#)
        #expect(app.fetch == [FetchURI(uri: "http://x/app.tar.gz", extract: true),
                              FetchURI(uri: "http://x/run.sh", extract: false)])
        #expect(app.portDefinitions.map(\.port) == [8080, 0])
        #expect(app.portDefinitions.allSatisfy { $0.protocol == "tcp" && $0.name == nil })
        #expect(try self.app(#"{"id": "/a", "cmd": "true", "ports": []}"#).portDefinitions.isEmpty)
    }

    @Test func legacyDockerFieldsMoveToTheirNewPlaces() throws {
        let app = try app(#"""
        {"id": "/a", "cmd": "true", "container": {"type": "DOCKER",
         "docker": {"image": "nginx", "network": "BRIDGE", "portMappings": [{"containerPort": 80, "hostPort": 0}]}}}
        """#)
        #expect(app.networks == [AppNetwork(mode: .containerBridge)])
        #expect(app.container?.portMappings == [AppContainer.PortMapping(containerPort: 80, hostPort: 0)])
        #expect(app.portDefinitions.isEmpty)
        #expect(app.hostPortCount == 1)
    }

    // MARK: Type errors

    @Test(arguments: [
        (#"{"id": 5, "cmd": "x"}"#, "/id", "error.expected.jsstring"),
        (#"{"id": "/a", "cmd": "x", "instances": "3"}"#, "/instances", "error.expected.jsnumber"),
        (#"{"id": "/a", "cmd": "x", "instances": 1.5}"#, "/instances", "error.expected.int"),
        (#"{"id": "/a", "cmd": "x", "requirePorts": "yes"}"#, "/requirePorts", "error.expected.jsboolean"),
        (#"{"id": "/a", "cmd": "x", "constraints": "hostname:UNIQUE"}"#, "/constraints", "error.expected.jsarray"),
        (#"{"id": "/a", "cmd": "x", "upgradeStrategy": 1}"#, "/upgradeStrategy", "error.expected.jsobject"),
        (#"{"id": "/a", "cmd": "x", "env": {"A": 1}}"#, "/env/A", "error.expected.jsstring"),
        (#"{"id": "/a", "cmd": "x", "healthChecks": [{"intervalSeconds": "5"}]}"#,
         "/healthChecks(0)/intervalSeconds", "error.expected.jsnumber"),
        (#"{"id": "/a", "cmd": "x", "constraints": [["hostname", 1]]}"#, "/constraints(0)(1)", "error.expected.jsstring"),
        (#"{"id": "/a", "cmd": "x", "mem": 64, "frobnicate": true}"#, "/frobnicate", "unknown field"),
        (#"{"cmd": "x"}"#, "/id", "error.path.missing"),
    ])
    func wrongTypesAreInvalidJSONWithThePath(body: String, path: String, error: String) {
        let result = rejection(body)
        #expect(result.message == "Invalid JSON")
        #expect(result.paths[path] == [error], "got \(result.paths)")
    }

    @Test func aNonObjectBodyIsInvalidJSON() {
        #expect(rejection("[1]").paths["/"] == ["error.expected.jsobject"])
    }

    @Test func readOnlyFieldsEchoedFromGETAreTolerated() throws {
        let app = try app(#"""
        {"id": "/a", "cmd": "true", "tasksStaged": 0, "tasksRunning": 2, "tasksHealthy": 2, "tasksUnhealthy": 0,
         "deployments": [{"id": "d"}], "tasks": [], "lastTaskFailure": null, "readinessCheckResults": [],
         "taskStats": {}, "executor": "", "secrets": {}, "storeUrls": []}
        """#)
        #expect(app.id == PathID("/a"))
        #expect(rejection(#"{"id": "/a", "cmd": "x", "executor": "/bin/my-executor"}"#).paths["/executor"]
            == ["is not supported by Agora"])
    }

    // MARK: Rules

    @Test(arguments: [
        (#"{"id": "/Bad_Id", "cmd": "x"}"#, "/id"),
        (#"{"id": "/group/tasks", "cmd": "x"}"#, "/id"),
        (#"{"id": "/a"}"#, "/"),
        (#"{"id": "/a", "cmd": "x", "args": ["y"]}"#, "/"),
        (#"{"id": "/a", "cmd": "   "}"#, "/cmd"),
        (#"{"id": "/a", "cmd": "x", "cpus": -1}"#, "/cpus"),
        (#"{"id": "/a", "cmd": "x", "mem": -5}"#, "/mem"),
        (#"{"id": "/a", "cmd": "x", "disk": -5}"#, "/disk"),
        (#"{"id": "/a", "cmd": "x", "gpus": -1}"#, "/gpus"),
        (#"{"id": "/a", "cmd": "x", "instances": -1}"#, "/instances"),
        (#"{"id": "/a", "cmd": "x", "backoffFactor": 0.5}"#, "/backoffFactor"),
        (#"{"id": "/a", "cmd": "x", "backoffSeconds": -1}"#, "/backoffSeconds"),
        (#"{"id": "/a", "cmd": "x", "constraints": [["hostname", "SOMETIMES"]]}"#, "/constraints(0)"),
        (#"{"id": "/a", "cmd": "x", "constraints": [["rack", "LIKE"]]}"#, "/constraints(0)"),
        (#"{"id": "/a", "cmd": "x", "constraints": [["hostname", "UNIQUE", "x"]]}"#, "/constraints(0)"),
        (#"{"id": "/a", "cmd": "x", "constraints": [["rack", "LIKE", "r[12"]]}"#, "/constraints(0)"),
        (#"{"id": "/a", "cmd": "x", "constraints": [["rack", "MAX_PER", "0"]]}"#, "/constraints(0)"),
        (#"{"id": "/a", "cmd": "x", "healthChecks": [{"portIndex": 1}]}"#, "/healthChecks(0)/portIndex"),
        (#"{"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}"#, "/healthChecks(0)/command"),
        (#"{"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "GOPHER"}]}"#, "/healthChecks(0)/protocol"),
        (#"{"id": "/a", "cmd": "x", "portDefinitions": [], "healthChecks": [{"protocol": "TCP"}]}"#,
         "/healthChecks(0)"),
        (#"{"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "MESOS_TCP"}, {"protocol": "MESOS_HTTP"}]}"#,
         "/healthChecks"),
        (#"{"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": -0.1}}"#,
         "/upgradeStrategy/minimumHealthCapacity"),
        (#"{"id": "/a", "cmd": "x", "portDefinitions": [{"name": "web"}, {"name": "web"}]}"#, "/portDefinitions"),
        (#"{"id": "/a", "cmd": "x", "portDefinitions": [{"port": 80}, {"port": 80}]}"#, "/portDefinitions"),
        (#"{"id": "/a", "cmd": "x", "portDefinitions": [{"port": 70000}]}"#, "/portDefinitions(0)/port"),
        (#"{"id": "/a", "cmd": "x", "portDefinitions": [{"protocol": "sctp"}]}"#, "/portDefinitions(0)/protocol"),
        (#"{"id": "/a", "cmd": "x", "killSelection": "RANDOM"}"#, "/killSelection"),
        (#"{"id": "/a", "cmd": "x", "unreachableStrategy": "sometimes"}"#, "/unreachableStrategy"),
        (#"{"id": "/a", "cmd": "x", "unreachableStrategy": {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 10}}"#,
         "/unreachableStrategy/expungeAfterSeconds"),
        (#"{"id": "/a", "cmd": "x", "readinessChecks": [{"portName": "nope"}]}"#, "/readinessChecks(0)/portName"),
        (#"{"id": "/a", "cmd": "x", "fetch": [{"uri": "s3://bucket/x"}]}"#, "/fetch(0)/uri"),
        (#"{"id": "/a", "cmd": "x", "uris": ["http://a"], "fetch": [{"uri": "http://b"}]}"#, "/fetch"),
        (#"{"id": "/a", "cmd": "x", "ports": [1], "portDefinitions": [{"port": 2}]}"#, "/portDefinitions"),
        (#"{"id": "/a", "cmd": "x", "dependencies": ["/Bad"]}"#, "/dependencies(0)"),
        (#"{"id": "/a", "cmd": "x", "version": "yesterday"}"#, "/version"),
    ])
    func brokenRulesAreNotValidWithThePath(body: String, path: String) {
        let result = rejection(body)
        #expect(result.message == "Object is not valid", "\(body)")
        #expect(result.paths[path]?.isEmpty == false, "expected \(path) in \(result.paths)")
    }

    @Test func ruleMessagesMatchMarathons() {
        #expect(rejection(#"{"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}}"#)
            .paths["/upgradeStrategy/minimumHealthCapacity"] == ["is greater than 1"])
        #expect(rejection(#"{"id": "/a"}"#).paths["/"] == [AppDefinition.missingCommandMessage])
        #expect(rejection(#"{"id": "/a", "cmd": "x", "killSelection": "RANDOM"}"#).paths["/killSelection"]
            == ["is not one of (YOUNGEST_FIRST,OLDEST_FIRST)"])
        let badID = rejection(#"{"id": "/Foo", "cmd": "x"}"#).paths["/id"] ?? []
        #expect(badID.first?.hasPrefix("must fully match regular expression '^(([a-z0-9]|") == true)
    }

    @Test func anImageWithoutACommandIsRejectedClearly() {
        let result = rejection(#"{"id": "/nginx", "container": {"type": "DOCKER", "docker": {"image": "nginx"}}}"#)
        #expect(result.message == "Object is not valid")
        let errors = result.paths["/container/docker/image"] ?? []
        #expect(errors == [AppDefinition.imagesNotSupportedMessage])
        #expect(errors.first?.contains("does not run container images") == true)
    }

    @Test func anImageWithACommandIsAccepted() throws {
        let app = try app(#"{"id": "/a", "cmd": "nginx", "container": {"type": "DOCKER", "docker": {"image": "nginx"}}}"#)
        #expect(app.container?.image == "nginx" && app.cmd == "nginx")
    }

    @Test func everyViolationIsReportedAtOnce() {
        let result = rejection(#"{"id": "/a", "cmd": "x", "cpus": -1, "mem": -1, "instances": -2}"#)
        #expect(Set(result.paths.keys) == ["/cpus", "/mem", "/instances"])
    }

    @Test func constraintsUseTheFrameworkParser() throws {
        let app = try app(#"{"id": "/a", "cmd": "x", "constraints": [["rack", "group_by", "3"], ["hostname", "CLUSTER"]]}"#)
        #expect(app.constraints == [try Constraint(field: "rack", operator: .groupBy(3)),
                                    try Constraint(field: "hostname", operator: .cluster(nil))])
    }

    // MARK: Updates

    @Test func partialUpdateMergesOntoTheCurrentApp() throws {
        var current = try app(#"{"id": "/a", "cmd": "sleep 1", "instances": 2, "env": {"A": "1"}, "mem": 64}"#)
        current.version = MarathonTimestamp(millisecondsSince1970: 1000)
        let scaled = try current.applying(AppUpdate.decode(body: Data(#"{"instances": 5}"#.utf8)))
        #expect(scaled.instances == 5 && scaled.mem == 64 && scaled.env == ["A": "1"] && scaled.cmd == "sleep 1")
        #expect(scaled.version == current.version)
        #expect(scaled.differsOnlyInScale(from: current))

        let changed = try current.applying(AppUpdate(json: .object(["env": .object(["B": .string("2")]),
                                                                      "cmd": .null])))
        #expect(changed.env == ["B": "2"] && changed.cmd == "sleep 1")
        #expect(!changed.differsOnlyInScale(from: current))
    }

    @Test func updateSwitchesBetweenCmdAndArgsAndLegacyFields() throws {
        let current = try app(#"{"id": "/a", "cmd": "sleep 1", "portDefinitions": [{"port": 0, "name": "web"}]}"#)
        let withArgs = try current.applying(AppUpdate(json: .object(["args": .array([.string("sleep"), .string("2")])])))
        #expect(withArgs.cmd == nil && withArgs.args == ["sleep", "2"])
        let withPorts = try current.applying(AppUpdate(json: .object(["ports": .array([.number(8080)])])))
        #expect(withPorts.portDefinitions == [PortDefinition(port: 8080)])
    }

    @Test func updatesAreValidatedAfterMerging() throws {
        let current = try app(#"{"id": "/a", "cmd": "x"}"#)
        #expect(throws: MarathonAPIError.self) {
            try current.applying(AppUpdate(json: .object(["instances": .number(-1)])))
        }
        do {
            _ = try AppUpdate.decode(body: Data(#"{"instances": "many"}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.violations == [.init(path: "/instances", "error.expected.jsnumber")])
        }
        #expect(throws: MarathonAPIError.emptyBody) { try AppUpdate.decode(body: Data()) }
    }

    @Test func versionAloneIsARollback() throws {
        let rollback = try AppUpdate.decode(body: Data(#"{"version": "2024-05-01T12:00:00.000Z"}"#.utf8))
        #expect(rollback.isRollback)
        #expect(rollback.rollbackVersion == MarathonTimestamp(parsing: "2024-05-01T12:00:00.000Z"))
        #expect(try !AppUpdate.decode(body: Data(#"{"version": "2024-05-01T12:00:00.000Z", "cmd": "x"}"#.utf8))
            .isRollback)
        #expect(try !AppUpdate.decode(body: Data(#"{"instances": 2}"#.utf8)).isRollback)
    }

    @Test func creatingFromAnUpdateUsesTheRouteID() throws {
        let update = try AppUpdate.decode(body: Data(#"{"cmd": "x", "instances": 2}"#.utf8))
        let app = try AppDefinition(creatingFrom: update, id: PathID("/new"))
        #expect(app.id == PathID("/new") && app.instances == 2 && app.mem == 128)
    }

    @Test func updateListsNeedIdsAndReportTheIndex() throws {
        let updates = try AppUpdate.decodeList(body: Data(#"[{"id": "/a", "instances": 1}, {"id": "b", "cmd": "x"}]"#.utf8))
        #expect(updates.map(\.id) == [PathID("/a"), PathID("/b")])
        do {
            _ = try AppUpdate.decodeList(body: Data(#"[{"id": "/a"}, {"instances": "x"}]"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(Set(error.violations.map(\.path)) == ["/(1)/instances"])
        }
        do {
            _ = try AppUpdate.decodeList(body: Data(#"[{"instances": 1}]"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.violations.map(\.path) == ["/(0)/id"])
        }
    }
}
