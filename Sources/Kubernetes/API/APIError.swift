/// An error the API answers with a `Status` object: the HTTP code, the machine-readable
/// reason clients branch on, and a message a person can act on.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status code (404, 409, 410, 422, …).
    public let code: Int
    /// The Kubernetes `StatusReason`: NotFound, AlreadyExists, Conflict, Invalid, Gone, BadRequest, …
    public let reason: String
    /// The human-readable message, e.g. `pods "web" not found`.
    public let message: String
    /// `details` of the Status object (name, group, kind, causes), when known.
    public let details: JSONValue?

    public init(code: Int, reason: String, message: String, details: JSONValue? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { "\(reason) (\(code)): \(message)" }

    /// The `v1` `Status` object clients decode.
    public func status() -> JSONValue {
        var status: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { status["details"] = details }
        return status
    }

    static func detailsFor(_ type: ResourceType, name: String) -> JSONValue {
        var details: JSONValue = ["name": .string(name), "kind": .string(type.resource)]
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        return details
    }

    /// `pods "web" not found` (404).
    public static func notFound(_ type: ResourceType, name: String) -> APIError {
        let qualified = type.group.isEmpty ? type.resource : "\(type.resource).\(type.group)"
        return APIError(code: 404, reason: "NotFound", message: "\(qualified) \"\(name)\" not found",
                        details: detailsFor(type, name: name))
    }

    /// `pods "web" already exists` (409).
    public static func alreadyExists(_ type: ResourceType, name: String) -> APIError {
        let qualified = type.group.isEmpty ? type.resource : "\(type.resource).\(type.group)"
        return APIError(code: 409, reason: "AlreadyExists", message: "\(qualified) \"\(name)\" already exists",
                        details: detailsFor(type, name: name))
    }

    /// A resourceVersion mismatch on update (409 Conflict): the client should re-read and retry.
    public static func conflict(_ type: ResourceType, name: String) -> APIError {
        let qualified = type.group.isEmpty ? type.resource : "\(type.resource).\(type.group)"
        return APIError(code: 409, reason: "Conflict",
                        message: "Operation cannot be fulfilled on \(qualified) \"\(name)\": the object has been modified; "
                            + "please apply your changes to the latest version and try again",
                        details: detailsFor(type, name: name))
    }

    /// A watch from a resourceVersion older than the retained history (410 Gone).
    public static func gone(resourceVersion: String, oldest: Int64) -> APIError {
        APIError(code: 410, reason: "Expired",
                 message: "too old resource version: \(resourceVersion) (\(oldest))")
    }

    /// A malformed request (400).
    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    /// An object that fails validation (422 Invalid); `causes` are (field, message) pairs
    /// such as ("spec.containers[0].name", "Required value").
    public static func invalid(_ type: ResourceType, name: String, causes: [(field: String, message: String)]) -> APIError {
        let listed = causes.map { "\($0.field): \($0.message)" }
        let summary = listed.count == 1 ? listed[0] : "[" + listed.joined(separator: ", ") + "]"
        var details = detailsFor(type, name: name)
        details["kind"] = .string(type.kind)
        details["causes"] = .array(causes.map { cause in
            ["reason": .string(Self.causeReason(cause.message)), "message": .string(cause.message), "field": .string(cause.field)]
        })
        return APIError(code: 422, reason: "Invalid", message: "\(type.kind) \"\(name)\" is invalid: \(summary)",
                        details: details)
    }

    private static func causeReason(_ message: String) -> String {
        if message.hasPrefix("Required value") { return "FieldValueRequired" }
        if message.hasPrefix("Unsupported value") { return "FieldValueNotSupported" }
        if message.hasPrefix("Duplicate value") { return "FieldValueDuplicate" }
        if message.hasPrefix("Forbidden") { return "FieldValueForbidden" }
        return "FieldValueInvalid"
    }

    /// A verb the resource does not support (405).
    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    /// An action the server refuses (403), e.g. deleting the `default` namespace.
    public static func forbidden(_ message: String) -> APIError {
        APIError(code: 403, reason: "Forbidden", message: message)
    }

    /// A path the server does not serve (404 with the generic message kubectl prints).
    public static let unknownPath = APIError(code: 404, reason: "NotFound",
                                             message: "the server could not find the requested resource")

    /// An unexpected failure inside the server (500).
    public static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: message)
    }
}
