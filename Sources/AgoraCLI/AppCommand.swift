import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `agora app …`: long-running apps through Agora's Marathon-compatible REST API.
struct AppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Deploy and inspect long-running apps (Agora's Marathon-compatible framework).",
        discussion: """
            Talks to the REST API of `agora marathon` (or of `agora local`), given by \
            --marathon or the AGORA_MARATHON environment variable. deploy, scale, restart \
            and remove follow their deployment with a progress bar and exit with 1 when it \
            fails; Ctrl-C stops waiting and leaves the deployment running.

            Example: agora app deploy Examples/apps/web.json
            """,
        subcommands: [
            AppDeployCommand.self, AppListCommand.self, AppShowCommand.self, AppScaleCommand.self,
            AppRestartCommand.self, AppRemoveCommand.self, AppTasksCommand.self, AppKillCommand.self,
            AppDeploymentsCommand.self, AppWhyCommand.self, AppLogsCommand.self,
        ]
    )
}

/// Where the `agora app` commands find the Marathon API, and how they print.
struct MarathonOptions: ParsableArguments {
    @Option(name: .customLong("marathon"),
            help: "The Marathon REST API base URL (or set AGORA_MARATHON).")
    var url = ProcessInfo.processInfo.environment["AGORA_MARATHON"] ?? "http://127.0.0.1:8080"

    @Flag(help: "Print the server's JSON instead of text.")
    var json = false

    func client() throws(AppCommandError) -> MarathonClient {
        try MarathonClient(baseURL: url)
    }
}

/// The flags of the commands that start a deployment.
struct DeploymentOptions: ParsableArguments {
    @Flag(help: "Return at once after printing the deployment id instead of following it.")
    var noWait = false

    @Flag(help: "Cancel a deployment already in progress for the app and apply this change (force=true).")
    var force = false

    var forceQuery: URLQueryItem {
        URLQueryItem(name: "force", value: force ? "true" : "false")
    }

    /// Sends one change to app `appID` (with `force`), then prints what it started and,
    /// unless --no-wait, follows its deployment (see `followDeployment`).
    func change(_ method: String, _ path: String, json body: Data? = nil, expecting expected: Set<Int>, appID: String,
                doing action: String, options: MarathonOptions) async throws(AppCommandError) {
        let reply = try await options.client().call(method, path, query: [forceQuery], json: body, expecting: expected, subject: appID)
        try await followDeployment(of: reply, appID: appID, doing: action, options: options, wait: !noWait)
    }
}

/// Runs a command body; an `AppCommandError` is printed on standard error and becomes the exit code.
func reportingAppErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as AppCommandError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(error.exitCode)
    }
}

/// The deployment an app change started: the `Marathon-Deployment-Id` header, else
/// `deploymentId` (PUT/DELETE/restart), else the first of `deployments` (POST).
func deploymentID(of reply: HTTPReply) -> String? {
    if let header = reply.header("Marathon-Deployment-Id"), !header.isEmpty { return header }
    guard let object = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] else { return nil }
    if let id = object["deploymentId"] as? String { return id }
    return ((object["deployments"] as? [[String: Any]])?.first?["id"]) as? String
}

/// Prints what a change started and, unless told not to, follows its deployment to the end;
/// throws (exit 1) when the deployment did not succeed.
func followDeployment(of reply: HTTPReply, appID: String, doing action: String,
                      options: MarathonOptions, wait: Bool) async throws(AppCommandError) {
    let deployment = deploymentID(of: reply)
    if options.json {
        emitLine(reply.text)
    } else if let deployment {
        emitLine("\(action): deployment \(deployment)")
    } else {
        emitLine("\(action): the server started no deployment")
    }
    guard wait, let deployment else { return }
    let waiter = DeploymentWaiter(client: try options.client(), quiet: options.json)
    let (status, final) = try await waiter.wait(for: deployment, appID: appID)
    let outcome = DeploymentProgressLine.outcome(status, appID: appID)
    if options.json {
        emitLine(final.text)
    }
    guard status.status == "succeeded" else { throw .failure(outcome) }
    if !options.json { emitLine(outcome) }
}

/// `agora app deploy FILE`.
struct AppDeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Create or update apps from a JSON or YAML file and follow their deployments.",
        discussion: """
            The file holds one app, a list of apps, or {"apps": [...]}, in Marathon's app \
            format; YAML is read as the same JSON. An app that does not exist yet is created \
            (POST /v2/apps); one that exists is replaced by the file's definition (PUT). Apps \
            are deployed one after the other, each once the previous deployment succeeded.
            """
    )

    @OptionGroup var options: MarathonOptions
    @OptionGroup var deployment: DeploymentOptions

    @Argument(help: "The app definition file (JSON or YAML); - reads standard input.")
    var file: String

    func run() async throws {
        try await reportingAppErrors {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw AppCommandError.invalid("cannot read \(file): \(error.localizedDescription)")
                }
            }
            let apps: [AppDefinitionDocument]
            do {
                apps = try AppManifest.parse(text, source: file == "-" ? "standard input" : file)
            } catch let error as AppManifestError {
                throw AppCommandError.invalid(error.description)
            }
            let client = try options.client()
            for app in apps {
                let existing = try await client.send("GET", MarathonClient.appPath(app.id))
                let reply: HTTPReply
                let action: String
                switch existing.status {
                case 404:
                    reply = try await client.call("POST", "/v2/apps", query: [deployment.forceQuery], json: app.body,
                                                  expecting: [200, 201], subject: app.id)
                    action = "creating \(app.id)"
                case 200:
                    reply = try await client.call("PUT", MarathonClient.appPath(app.id),
                                                  query: [deployment.forceQuery, URLQueryItem(name: "partialUpdate", value: "false")],
                                                  json: app.body, expecting: [200, 201], subject: app.id)
                    action = "updating \(app.id)"
                default:
                    throw AppCommandError.failure("cannot look up \(app.id): "
                        + MarathonErrorText.describe(status: existing.status, body: existing.body))
                }
                try await followDeployment(of: reply, appID: app.id, doing: action, options: options, wait: !deployment.noWait)
            }
        }
    }
}

/// `agora app scale ID N`.
struct AppScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Change how many instances of an app run, and follow the deployment."
    )

    @OptionGroup var options: MarathonOptions
    @OptionGroup var deployment: DeploymentOptions

    @OptionGroup var app: AppIDArgument

    @Argument(help: "The number of instances to run (0 stops them all but keeps the app).")
    var instances: Int

    func validate() throws {
        guard instances >= 0 else { throw ValidationError("the number of instances cannot be negative (got \(instances))") }
        guard AppManifest.normalizedAppID(app.id) != nil else { throw ValidationError("give an app id, e.g. /web") }
    }

    func run() async throws {
        try await reportingAppErrors {
            let appID = AppManifest.normalizedAppID(app.id) ?? app.id
            let body = Data("{\"instances\":\(instances)}".utf8)
            try await deployment.change("PUT", MarathonClient.appPath(appID), json: body, expecting: [200, 201], appID: appID,
                                        doing: "scaling \(appID) to \(AppFormat.count(instances, "instance"))", options: options)
        }
    }
}

/// `agora app restart ID`.
struct AppRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Replace all instances of an app by new ones, following its upgrade strategy."
    )

    @OptionGroup var options: MarathonOptions
    @OptionGroup var deployment: DeploymentOptions

    @OptionGroup var app: AppIDArgument

    func run() async throws {
        try await app.reporting { appID in
            try await deployment.change("POST", MarathonClient.appPath(appID, suffix: "/restart"), expecting: [200, 201],
                                        appID: appID, doing: "restarting \(appID)", options: options)
        }
    }
}

/// `agora app remove ID`.
struct AppRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Stop all instances of an app and delete it; waits until they are gone."
    )

    @OptionGroup var options: MarathonOptions
    @OptionGroup var deployment: DeploymentOptions

    @OptionGroup var app: AppIDArgument

    func run() async throws {
        try await app.reporting { appID in
            try await deployment.change("DELETE", MarathonClient.appPath(appID), expecting: [200, 202], appID: appID,
                                        doing: "removing \(appID)", options: options)
        }
    }
}

/// The app id argument of the commands about one app.
struct AppIDArgument: ParsableArguments {
    @Argument(help: "The app id, e.g. /web.")
    var id: String

    /// Runs a command body with the absolute app id, reporting errors (a malformed id
    /// included) as `reportingAppErrors` does.
    func reporting(_ body: (_ appID: String) async throws -> Void) async throws {
        try await reportingAppErrors { try await body(try requireAppID(id)) }
    }
}

/// The absolute form of an app id argument, or a usage error.
func requireAppID(_ text: String) throws(AppCommandError) -> String {
    guard let id = AppManifest.normalizedAppID(text) else { throw .invalid("give an app id, e.g. /web") }
    return id
}
