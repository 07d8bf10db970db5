import Foundation
import HTTPTypes
import Hummingbird

/// The REST API: Marathon v2 for what real clients use, plus two Agora endpoints for
/// the `agora app` CLI (`/agora/v1/deployments/{id}` and task files).
///
/// Routing is done here rather than by the router's path trie because Marathon ids
/// contain `/`, clients send `//` (the Python client does), and the last segments
/// (`restart`, `tasks`, `versions`) decide the endpoint.
public enum MarathonHTTP {
    public static func router(service: MarathonService) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(MarathonAPI(service: service))
        return router
    }
}

/// A request as the endpoints see it: segments without empty ones, case-insensitive
/// boolean query parameters.
struct APIRequest: Sendable {
    let method: HTTPRequest.Method
    let segments: [String]
    let query: [String: [String]]
    let body: Data
    let accept: String

    func flag(_ name: String, default value: Bool = false) throws(MarathonAPIError) -> Bool {
        guard let text = query[name]?.last else { return value }
        switch text.lowercased() {
        case "true", "1", "": return true
        case "false", "0": return false
        default: throw .badRequest("query parameter \(name) must be true or false, not \"\(text)\"")
        }
    }

    func values(_ name: String) -> [String] {
        (query[name] ?? []) + (query[name + "[]"] ?? [])
    }
}

struct MarathonAPI: RouterMiddleware {
    typealias Context = BasicRequestContext
    let service: MarathonService

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        guard let first = segments.first, ["v2", "ping", "metrics", "agora"].contains(first) else {
            return try await next(request, context)
        }
        var query: [String: [String]] = [:]
        for (key, value) in request.uri.queryParameters {
            query[String(key), default: []].append(String(value).removingPercentEncoding ?? String(value))
        }
        let body: Data
        do {
            var buffer = try await request.body.collect(upTo: 8 << 20)
            body = buffer.readData(length: buffer.readableBytes) ?? Data()
        } catch {
            return Self.respond(MarathonAPIError(status: 413, message: "request body larger than 8 MB"))
        }
        let api = APIRequest(method: request.method, segments: segments, query: query, body: body,
                             accept: request.headers[.accept] ?? "")
        do {
            return try await route(api)
        } catch {
            return Self.respond(error)
        }
    }

    private func route(_ request: APIRequest) async throws(MarathonAPIError) -> Response {
        let segments = request.segments
        switch (request.method, segments.first) {
        case (.get, "ping"):
            return Self.ping(accept: request.accept)
        case (.get, "metrics"):
            return Self.json(await service.metricsJSON())
        case (_, "agora"):
            return try await agora(request, Array(segments.dropFirst()))
        default:
            break
        }
        let rest = Array(segments.dropFirst())
        switch (request.method, rest.first) {
        case (_, "apps"):
            return try await apps(request, Array(rest.dropFirst()))
        case (.get, "tasks") where rest.count == 1:
            return Self.json(await service.tasksJSON(appID: nil, statuses: Set(request.values("status"))))
        case (.post, "tasks") where rest == ["tasks", "delete"]:
            let ids = try Self.taskIDs(in: request.body)
            return Self.json(try await service.killTasks(appID: nil, taskIDs: ids, host: nil,
                                                         scale: request.flag("scale"), wipe: request.flag("wipe"),
                                                         force: request.flag("force")))
        case (.get, "deployments") where rest.count == 1:
            return Self.json(await service.deploymentsJSON())
        case (.delete, "deployments") where rest.count == 2:
            if let result = try await service.deleteDeployment(id: rest[1], force: request.flag("force")) {
                return Self.json(result, headers: Self.deploymentHeader(result))
            }
            return Response(status: .accepted)
        case (.get, "queue") where rest.count == 1:
            return Self.json(await service.queueJSON())
        case (.delete, "queue") where rest.count >= 3 && rest.last == "delay":
            try await service.resetDelay(appID: PathID(rest.dropFirst().dropLast().joined(separator: "/")))
            return Response(status: .noContent)
        case (.get, "info") where rest.count == 1:
            return Self.json(await service.infoJSON())
        case (.get, "leader") where rest.count == 1:
            return Self.json(await service.leaderJSON())
        case (.get, "events") where rest.count == 1:
            return await events(request)
        case (_, "apps"), (_, "tasks"), (_, "deployments"), (_, "queue"), (_, "info"), (_, "leader"), (_, "events"):
            throw MarathonAPIError(status: 405, message: "\(request.method) is not supported on /\(segments.joined(separator: "/"))")
        default:
            throw MarathonAPIError(status: 404, message: "URI not found")
        }
    }

    /// `/v2/apps[/{id…}[/restart|/tasks[/{taskId}]|/versions[/{version}]]]`.
    private func apps(_ request: APIRequest, _ path: [String]) async throws(MarathonAPIError) -> Response {
        let force = try request.flag("force")
        if path.isEmpty {
            switch request.method {
            case .get:
                return Self.json(await service.appsJSON(id: request.query["id"]?.last, cmd: request.query["cmd"]?.last,
                                                        label: request.query["label"]?.last,
                                                        embed: Set(request.values("embed"))))
            case .post:
                let (created, deploymentID) = try await service.createApp(body: request.body, force: force)
                var headers = HTTPFields()
                headers[.location] = created["id"]?.stringValue ?? ""
                headers[HTTPField.Name("Marathon-Deployment-Id")!] = deploymentID
                return Self.json(created, status: .created, headers: headers)
            case .put, .patch:
                let partial = try request.flag("partialUpdate", default: true) || request.method == .patch
                let result = try await service.updateApps(body: request.body, force: force, partial: partial)
                return Self.json(result, headers: Self.deploymentHeader(result))
            default:
                throw MarathonAPIError(status: 405, message: "\(request.method) is not supported on /v2/apps")
            }
        }
        // Split off the sub-resource: the id's last segment can never be one of these words.
        if let index = path.lastIndex(where: { ["restart", "tasks", "versions"].contains($0) }), index > 0 {
            let appID = PathID(path[..<index].joined(separator: "/"))
            let tail = Array(path[(index + 1)...])
            switch (path[index], request.method, tail.count) {
            case ("restart", .post, 0):
                let result = try await service.restartApp(id: appID, force: force)
                return Self.json(result, headers: Self.deploymentHeader(result))
            case ("tasks", .get, 0):
                return Self.json(try await service.appTasksJSON(appID: appID))
            case ("tasks", .delete, 0), ("tasks", .delete, 1):
                let result = try await service.killTasks(
                    appID: appID, taskIDs: tail.isEmpty ? nil : tail, host: request.query["host"]?.last,
                    scale: request.flag("scale"), wipe: request.flag("wipe"), force: force, single: !tail.isEmpty)
                return Self.json(result, headers: Self.deploymentHeader(result))
            case ("versions", .get, 0):
                return Self.json(try await service.versionsJSON(appID: appID))
            case ("versions", .get, 1):
                return Self.json(try await service.versionJSON(appID: appID, version: tail[0]))
            default:
                throw MarathonAPIError(status: 405, message: "\(request.method) is not supported on this resource")
            }
        }
        let appID = PathID(path.joined(separator: "/"))
        switch request.method {
        case .get:
            return Self.json(try await service.appJSON(id: appID, embed: Set(request.values("embed"))))
        case .put, .patch:
            let partial = try request.flag("partialUpdate", default: true) || request.method == .patch
            let (result, created) = try await service.updateApp(id: appID, body: request.body, force: force,
                                                                partial: partial)
            return Self.json(result, status: created ? .created : .ok, headers: Self.deploymentHeader(result))
        case .delete:
            let result = try await service.deleteApp(id: appID, force: request.flag("force", default: true))
            return Self.json(result, headers: Self.deploymentHeader(result))
        default:
            throw MarathonAPIError(status: 405, message: "\(request.method) is not supported on /v2/apps/{id}")
        }
    }

    /// `/agora/v1/deployments/{id}` and `/agora/v1/tasks/{taskId}/files/{stdout|stderr}`.
    private func agora(_ request: APIRequest, _ path: [String]) async throws(MarathonAPIError) -> Response {
        switch (request.method, path.count > 1 ? path[1] : nil) {
        case (.get, "deployments") where path.count == 3:
            return Self.json(try await service.deploymentStatusJSON(id: path[2]))
        case (.get, "tasks") where path.count == 5 && path[3] == "files":
            let offset = Int(request.query["offset"]?.last ?? "0") ?? 0
            let (data, state) = try await service.taskFile(taskID: path[2], file: path[4], offset: max(0, offset))
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[HTTPField.Name("X-Agora-Task-State")!] = state
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        default:
            throw MarathonAPIError(status: 404, message: "URI not found")
        }
    }

    private func events(_ request: APIRequest) async -> Response {
        let types = Set(request.values("event_type"))
        let stream = service.events.subscribe(types: types)
        let attached = await service.attachedEventFrame(remoteAddress: "")
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: Self.sse(attached)))
            for await frame in stream {
                try await writer.write(ByteBuffer(string: Self.sse(frame)))
            }
            try await writer.finish(nil)
        })
    }

    static func sse(_ frame: EventBus.Frame) -> String {
        "event: \(frame.type)\ndata: \(frame.json)\n\n"
    }

    // MARK: Helpers

    static func taskIDs(in body: Data) throws(MarathonAPIError) -> [String] {
        let json = try MarathonJSON.parse(body)
        guard case .array(let items)? = json["ids"] else {
            throw .invalidJSON([.init(path: "/ids", "error.expected.jsarray")])
        }
        var ids: [String] = []
        for (index, item) in items.enumerated() {
            guard let id = item.stringValue, !id.isEmpty else {
                throw .invalidJSON([.init(path: "/ids(\(index))", "error.expected.jsstring")])
            }
            ids.append(id)
        }
        return ids
    }

    static func ping(accept: String) -> Response {
        if accept.contains("application/json") {
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: "\"pong\"")))
        }
        if accept.isEmpty || accept.contains("text/plain") || accept.contains("*/*") {
            return Response(status: .ok, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: "pong")))
        }
        return Response(status: .noContent)
    }

    static func deploymentHeader(_ result: MarathonJSON) -> HTTPFields {
        var headers = HTTPFields()
        if let id = result["deploymentId"]?.stringValue { headers[HTTPField.Name("Marathon-Deployment-Id")!] = id }
        return headers
    }

    static func json(_ value: MarathonJSON, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.serialized)))
    }

    static func respond(_ error: any Error) -> Response {
        let apiError = error as? MarathonAPIError
            ?? MarathonAPIError(status: 500, message: "internal error: \(error)")
        return json(apiError.body, status: HTTPResponse.Status(code: apiError.status))
    }
}
