import Foundation

/// An error of Marathon's REST API: the HTTP status and the JSON body Marathon sends.
///
/// Handlers throw it; the HTTP layer renders `status` and `body` in one place. The
/// shapes and texts follow Marathon 1.10 (`MarathonExceptionMapper`), because clients
/// such as the Python `marathon` library read `message` and `details`.
public struct MarathonAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One field that is wrong: its JSON path (`/upgradeStrategy/minimumHealthCapacity`,
    /// `/healthChecks(0)/portIndex`) and what is wrong with it.
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var errors: [String]

        public init(path: String, errors: [String]) {
            self.path = path
            self.errors = errors
        }

        public init(path: String, _ error: String) {
            self.init(path: path, errors: [error])
        }

        public var description: String { "\(path): \(errors.joined(separator: "; "))" }

        var json: MarathonJSON {
            .object(["path": .string(path), "errors": .array(errors.map(MarathonJSON.string))])
        }
    }

    /// The HTTP status code.
    public let status: Int
    /// The response body.
    public let body: MarathonJSON

    public init(status: Int, body: MarathonJSON) {
        self.status = status
        self.body = body
    }

    /// An error whose body is `{"message": message}`.
    public init(status: Int, message: String) {
        self.init(status: status, body: .object(["message": .string(message)]))
    }

    /// The body's `message`.
    public var message: String { body["message"]?.stringValue ?? "" }

    /// The field violations of a 422 answer, empty for other errors.
    public var violations: [Violation] {
        guard case .array(let details)? = body["details"] else { return [] }
        return details.compactMap { detail in
            guard let path = detail["path"]?.stringValue, case .array(let errors)? = detail["errors"] else { return nil }
            return Violation(path: path, errors: errors.compactMap(\.stringValue))
        }
    }

    public var description: String {
        let details = violations.isEmpty
            ? (body["details"]?.stringValue.map { ": \($0)" } ?? "")
            : ": " + violations.map(\.description).joined(separator: ", ")
        return "\(status) \(message)\(details)"
    }

    // MARK: 400

    /// 400 for a body that is not JSON; `details` is the parser's text.
    public static func malformedJSON(_ details: String) -> MarathonAPIError {
        MarathonAPIError(status: 400, body: .object(["message": .string("Invalid JSON"), "details": .string(details)]))
    }

    /// 400 for an empty body where one is required.
    public static let emptyBody = MarathonAPIError(status: 400, message: "Please specify data in JSON format")

    /// 400 with a free message, e.g. `scale` and `wipe` given together.
    public static func badRequest(_ message: String) -> MarathonAPIError {
        MarathonAPIError(status: 400, message: message)
    }

    // MARK: 422

    /// 422 for JSON of the wrong shape: wrong types (`error.expected.jsstring`, …) and unknown fields.
    public static func invalidJSON(_ violations: [Violation]) -> MarathonAPIError {
        MarathonAPIError(status: 422, body: .object([
            "message": .string("Invalid JSON"),
            "details": .array(merged(violations).map(\.json)),
        ]))
    }

    /// 422 for well-formed JSON that breaks a rule (`Object is not valid`).
    public static func notValid(_ violations: [Violation]) -> MarathonAPIError {
        MarathonAPIError(status: 422, body: .object([
            "message": .string("Object is not valid"),
            "details": .array(merged(violations).map(\.json)),
        ]))
    }

    /// Joins violations of the same path, keeping the order in which paths first appear.
    static func merged(_ violations: [Violation]) -> [Violation] {
        var order: [String] = []
        var byPath: [String: [String]] = [:]
        for violation in violations {
            if byPath[violation.path] == nil { order.append(violation.path) }
            for error in violation.errors where !(byPath[violation.path] ?? []).contains(error) {
                byPath[violation.path, default: []].append(error)
            }
        }
        return order.map { Violation(path: $0, errors: byPath[$0] ?? []) }
    }

    // MARK: 404

    /// 404 `App '/x' does not exist`.
    public static func appNotFound(_ id: PathID) -> MarathonAPIError {
        MarathonAPIError(status: 404, message: "App '\(id)' does not exist")
    }

    /// 404 `App '/x' does not exist in version 2024-…`.
    public static func appVersionNotFound(_ id: PathID, version: MarathonTimestamp) -> MarathonAPIError {
        MarathonAPIError(status: 404, message: "App '\(id)' does not exist in version \(version)")
    }

    /// 404 `Task 'x' does not exist`.
    public static func taskNotFound(_ taskID: String) -> MarathonAPIError {
        MarathonAPIError(status: 404, message: "Task '\(taskID)' does not exist")
    }

    /// 404 `DeploymentPlan x does not exist`.
    public static func deploymentNotFound(_ deploymentID: String) -> MarathonAPIError {
        MarathonAPIError(status: 404, message: "DeploymentPlan \(deploymentID) does not exist")
    }

    /// 404 `Application /x not found in tasks queue.`
    public static func notInQueue(_ id: PathID) -> MarathonAPIError {
        MarathonAPIError(status: 404, message: "Application \(id) not found in tasks queue.")
    }

    /// 404 `There is no leader`.
    public static let noLeader = MarathonAPIError(status: 404, message: "There is no leader")

    // MARK: 409

    /// 409 `An app with id [/x] already exists.`
    public static func appExists(_ id: PathID) -> MarathonAPIError {
        MarathonAPIError(status: 409, message: "An app with id [\(id)] already exists.")
    }

    /// 409 when deployments already touch the app, with their ids under `deployments`.
    public static func appLocked(deploymentIDs: [String]) -> MarathonAPIError {
        let shown = deploymentIDs.map { "'/v2/deployments/\($0)'" }.joined(separator: ", ")
        let message = "App is locked by one or more deployments. Override with the option '?force=true'. "
            + "View details at \(shown)."
        return MarathonAPIError(status: 409, body: .object([
            "message": .string(message),
            "deployments": .array(deploymentIDs.map { .object(["id": .string($0)]) }),
        ]))
    }
}
