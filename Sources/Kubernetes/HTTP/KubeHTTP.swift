import Foundation
import Hummingbird

/// The Kubernetes API subset over HTTP: discovery, OpenAPI stubs, and CRUD, watch, patch,
/// Table printing, scale, status and log endpoints for the types in `ResourceType.all`.
public enum KubeHTTP {
    /// The router serving the whole API from `store`; `logs` answers `pods/<name>/log`,
    /// `now` is the clock for AGE columns and deletion timestamps.
    public static func router(store: ObjectStore, logs: some PodLogSource,
                              now: @escaping @Sendable () -> Date = { Date() }) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: KubeAPIMiddleware(api: KubeAPI(store: store, logs: logs, now: now)))
        return router
    }
}

/// Answers every request itself (the API's URL space is too irregular for the route
/// trie) and renders `APIError`s as `Status` objects.
struct KubeAPIMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let api: KubeAPI

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await api.respond(to: request)
        } catch let error as APIError {
            return KubeAPI.json(error.status(), status: error.code)
        } catch {
            return KubeAPI.json(APIError.internalError("\(error)").status(), status: 500)
        }
    }
}

/// The request handling behind `KubeHTTP.router`.
struct KubeAPI: Sendable {
    let store: ObjectStore
    let logs: any PodLogSource
    let now: @Sendable () -> Date

    /// The largest request body accepted (manifests are small).
    static let maxBodySize = 8 << 20
    /// The longest a watch stays open when the client does not say (`timeoutSeconds`).
    static let defaultWatchTimeout: Duration = .seconds(1800)
    /// How often a followed log is polled for new output.
    static let logPollInterval: Duration = .milliseconds(250)

    func respond(to request: Request) async throws -> Response {
        var path = request.uri.path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if let resourcePath = ResourcePath(path: path) {
            return try await resource(resourcePath, request: request)
        }
        if let document = try discovery(path: path, request: request) {
            return document
        }
        throw APIError.unknownPath
    }

    // MARK: - Discovery

    private func discovery(path: String, request: Request) throws(APIError) -> Response? {
        let document: JSONValue
        switch path {
        case "/version": document = Discovery.version
        case "/api": document = Discovery.apiVersions(serverAddress: request.head.authority ?? "127.0.0.1:6443")
        case "/apis": document = Discovery.groupList
        case "/healthz", "/livez", "/readyz":
            try requireGet(request)
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
        case "/openapi/v2", "/swagger-2.0.0.pb-v1":
            // An empty protobuf Document: kubectl's client-side validation then skips every kind.
            try requireGet(request)
            return Response(status: .ok, headers: [.contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"],
                            body: .init(byteBuffer: ByteBuffer()))
        default:
            let segments = path.split(separator: "/").map(String.init)
            if segments.count == 2, segments[0] == "api", let list = Discovery.resources(groupVersion: segments[1]) {
                document = list
            } else if segments.count == 2, segments[0] == "apis", let group = Discovery.group(segments[1]) {
                document = group
            } else if segments.count == 3, segments[0] == "apis",
                      let list = Discovery.resources(groupVersion: "\(segments[1])/\(segments[2])") {
                document = list
            } else {
                return nil
            }
        }
        try requireGet(request)
        return Self.json(document)
    }

    private func requireGet(_ request: Request) throws(APIError) {
        guard request.method == .get || request.method == .head else {
            throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    // MARK: - Resources

    private func resource(_ path: ResourcePath, request: Request) async throws -> Response {
        let type = path.type
        let query = QueryParameters(request.uri.query)
        if type.namespaced, path.namespace == nil, path.name != nil { throw APIError.unknownPath }
        guard let name = path.name else {
            switch request.method {
            case .get:
                return query.flag("watch") ? try await watch(path, request: request, query: query)
                    : try await list(path, request: request, query: query)
            case .post:
                guard !type.namespaced || path.namespace != nil else {
                    throw APIError.methodNotAllowed("create \(type.resource) through /namespaces/<namespace>/\(type.resource)")
                }
                let body = try await Self.body(of: request)
                let created = try await store.create(type, namespace: path.namespace, object: body)
                return Self.json(created, status: 201)
            default:
                throw APIError.methodNotAllowed("the server does not allow this method on \(type.resource)")
            }
        }
        switch (path.subresource, request.method) {
        case (nil, .get):
            return Self.json(try await store.get(type, namespace: path.namespace, name: name))
        case (nil, .put), ("status", .put):
            let body = try await Self.body(of: request)
            return Self.json(try await store.update(type, namespace: path.namespace, name: name, object: body,
                                                    subresource: path.subresource))
        case (nil, .patch), ("status", .patch):
            return try await patch(path, name: name, request: request)
        case (nil, .delete):
            return try await delete(path, name: name, request: request, query: query)
        case ("status", .get):
            return Self.json(try await store.get(type, namespace: path.namespace, name: name))
        case ("scale", _) where type == .deployments || type == .replicaSets:
            return try await scale(path, name: name, request: request)
        case ("log", .get) where type == .pods:
            return try await podLog(namespace: path.namespace ?? "default", name: name, query: query)
        case ("status", _), ("scale", _), ("log", _), (nil, _):
            if path.subresource.map({ ["scale", "log"].contains($0) && !self.hasSubresource(type, $0) }) ?? false {
                throw APIError.unknownPath
            }
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        default:
            throw APIError.unknownPath
        }
    }

    private func hasSubresource(_ type: ResourceType, _ subresource: String) -> Bool {
        switch subresource {
        case "scale": return type == .deployments || type == .replicaSets
        case "log": return type == .pods
        default: return true
        }
    }

    private func list(_ path: ResourcePath, request: Request, query: QueryParameters) async throws -> Response {
        let labelSelector = try query.labelSelector()
        let fieldSelector = try query.fieldSelector()
        let (items, version) = await store.list(path.type, namespace: path.namespace, labelSelector: labelSelector,
                                                fieldSelector: fieldSelector)
        if let tableVersion = Self.tableVersion(request) {
            let table = ResourceTable(type: path.type, now: now())
                .table(items, resourceVersion: version, includeObject: query["includeObject"], apiVersion: tableVersion)
            return Self.json(table, contentType: Self.tableContentType(tableVersion))
        }
        let list: JSONValue = ["kind": .string(path.type.kind + "List"), "apiVersion": .string(path.type.apiVersion),
                               "metadata": ["resourceVersion": .string(version)], "items": .array(items)]
        return Self.json(list)
    }

    private func watch(_ path: ResourcePath, request: Request, query: QueryParameters) async throws -> Response {
        let labelSelector = try query.labelSelector()
        let fieldSelector = try query.fieldSelector()
        let timeout = query["timeoutSeconds"].flatMap(Int.init).map { Duration.seconds($0) } ?? Self.defaultWatchTimeout
        let tableVersion = Self.tableVersion(request)
        let type = path.type
        let namespace = path.namespace
        let includeObject = query["includeObject"]
        let table = ResourceTable(type: type, now: now())
        let source: AsyncStream<WatchEvent>
        do {
            source = try await store.watch(type, namespace: namespace, resourceVersion: query["resourceVersion"])
        } catch {
            // As the API server does: a 200 stream holding one ERROR event with the Status.
            let line = Self.eventLine(WatchEvent(type: .error, object: error.status()))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: line)))
        }
        let events = Self.ending(source, after: timeout)
        let contentType = tableVersion.map(Self.tableContentType) ?? "application/json"
        return Response(status: .ok, headers: [.contentType: contentType, .cacheControl: "no-cache"], body: .init { writer in
            var sentColumns = false
            for await event in events {
                var object = event.object
                if event.type != .error, event.type != .bookmark {
                    guard ObjectStore.matches(object, type: type, namespace: namespace, labelSelector: labelSelector,
                                              fieldSelector: fieldSelector) else { continue }
                    if let tableVersion {
                        object = table.table([object], resourceVersion: object.resourceVersion, includeObject: includeObject,
                                             withColumns: !sentColumns, apiVersion: tableVersion)
                        sentColumns = true
                    }
                }
                try await writer.write(ByteBuffer(bytes: Self.eventLine(WatchEvent(type: event.type, object: object))))
            }
            try await writer.finish(nil)
        })
    }

    /// `source` cut off after `timeout`; ending the result (the client went away) ends `source`.
    private static func ending(_ source: AsyncStream<WatchEvent>, after timeout: Duration) -> AsyncStream<WatchEvent> {
        let (output, continuation) = AsyncStream.makeStream(of: WatchEvent.self)
        let forwarder = Task {
            for await event in source { continuation.yield(event) }
            continuation.finish()
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            continuation.finish()
        }
        continuation.onTermination = { _ in
            forwarder.cancel()
            timer.cancel()
        }
        return output
    }

    private static func eventLine(_ event: WatchEvent) -> Data {
        var line = JSONValue.object(["type": .string(event.type.rawValue), "object": event.object]).encoded()
        line.append(UInt8(ascii: "\n"))
        return line
    }

    // MARK: - Patch

    private func patch(_ path: ResourcePath, name: String, request: Request) async throws -> Response {
        let contentType = Self.mediaType(request)
        let body = try await Self.body(of: request)
        let type = path.type
        do {
            let patched = try await store.modify(type, namespace: path.namespace, name: name,
                                                 status: path.subresource == "status") { object throws(APIError) in
                try Self.checkPrecondition(patch: body, current: object, type: type, name: name)
                object = try Self.apply(patch: body, contentType: contentType, to: object)
            }
            return Self.json(patched)
        } catch {
            // Server-side apply creates what does not exist yet.
            guard error.code == 404, contentType == "application/apply-patch+yaml", path.subresource == nil else { throw error }
            var object = body
            if object.name.isEmpty { object[path: ["metadata", "name"]] = .string(name) }
            return Self.json(try await store.create(type, namespace: path.namespace, object: object), status: 201)
        }
    }

    /// A patch that names a resourceVersion applies only to that version (409 otherwise).
    private static func checkPrecondition(patch: JSONValue, current: JSONValue, type: ResourceType,
                                          name: String) throws(APIError) {
        if let wanted = patch[path: ["metadata", "resourceVersion"]]?.stringValue, wanted != current.resourceVersion {
            throw .conflict(type, name: name)
        }
    }

    /// `patch` applied to `object` as the Content-Type says.
    static func apply(patch: JSONValue, contentType: String, to object: JSONValue) throws(APIError) -> JSONValue {
        switch contentType {
        case "application/merge-patch+json", "application/apply-patch+yaml":
            return Patch.merge(object, patch)
        case "application/strategic-merge-patch+json":
            return try Patch.strategicMerge(object, patch)
        case "application/json-patch+json":
            return try Patch.json(object, patch)
        default:
            throw APIError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - accepted media types include: "
                               + "application/json-patch+json, application/merge-patch+json, "
                               + "application/apply-patch+yaml, application/strategic-merge-patch+json")
        }
    }

    // MARK: - Scale

    /// The `autoscaling/v1` `Scale` view of a deployment or replica set.
    static func scale(of object: JSONValue) -> JSONValue {
        var metadata: [String: JSONValue] = [:]
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            metadata[key] = object[path: ["metadata", key]]
        }
        let selector = LabelSelectorText.format(object[path: ["spec", "selector"]])
        return ["apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": .object(metadata),
                "spec": ["replicas": .int(object[path: ["spec", "replicas"]]?.intValue ?? 1)],
                "status": ["replicas": .int(object[path: ["status", "replicas"]]?.intValue ?? 0), "selector": .string(selector)]]
    }

    private func scale(_ path: ResourcePath, name: String, request: Request) async throws -> Response {
        let type = path.type
        switch request.method {
        case .get:
            return Self.json(Self.scale(of: try await store.get(type, namespace: path.namespace, name: name)))
        case .put, .patch:
            let isPut = request.method == .put
            let contentType = Self.mediaType(request)
            let body = try await Self.body(of: request)
            let updated = try await store.modify(type, namespace: path.namespace, name: name) { object throws(APIError) in
                let current = Self.scale(of: object)
                try Self.checkPrecondition(patch: body, current: object, type: type, name: name)
                let wanted = isPut ? body : try Self.apply(patch: body, contentType: contentType, to: current)
                guard let replicas = wanted[path: ["spec", "replicas"]]?.intValue, replicas >= 0 else {
                    throw APIError.invalid(type, name: name, causes: [("spec.replicas", "Invalid value: must be a non-negative integer")])
                }
                object[path: ["spec", "replicas"]] = .int(replicas)
            }
            return Self.json(Self.scale(of: updated))
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on \(type.resource)/scale")
        }
    }

    // MARK: - Delete

    private func delete(_ path: ResourcePath, name: String, request: Request, query: QueryParameters) async throws -> Response {
        let type = path.type
        let options = try? await Self.body(of: request)
        guard type == .pods else {
            return Self.json(try await store.delete(type, namespace: path.namespace, name: name))
        }
        let grace = options?["gracePeriodSeconds"]?.intValue ?? query["gracePeriodSeconds"].flatMap { Int64($0) }
        return Self.json(try await PodDeletion.delete(store: store, namespace: path.namespace, name: name,
                                                      grace: grace, now: now()))
    }

    // MARK: - Logs

    private func podLog(namespace: String, name: String, query: QueryParameters) async throws -> Response {
        let pod = try await store.get(.pods, namespace: namespace, name: name)
        let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let container: String
        if let requested = query["container"], !requested.isEmpty {
            guard containers.contains(requested) else {
                throw APIError.badRequest("container \(requested) is not valid for pod \(name)")
            }
            container = requested
        } else if containers.count == 1 {
            container = containers[0]
        } else {
            throw APIError.badRequest("a container name must be specified for pod \(name), choose one of: [\(containers.joined(separator: " "))]")
        }
        guard let first = try await logs.logs(namespace: namespace, pod: name, container: container, offset: 0) else {
            throw APIError.badRequest("container \"\(container)\" in pod \"\(name)\" is waiting to start: ContainerCreating")
        }
        let tailLines = query["tailLines"].flatMap(Int.init)
        let initial = tailLines.map { Self.lastLines(first.data, count: $0) } ?? first.data
        guard query.flag("follow"), !first.finished else {
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(bytes: initial)))
        }
        let logs = self.logs
        let store = self.store
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init { writer in
            try await writer.write(ByteBuffer(bytes: initial))
            var offset = first.data.count
            while !Task.isCancelled {
                try await Task.sleep(for: Self.logPollInterval)
                guard (try? await store.get(.pods, namespace: namespace, name: name)) != nil,
                      let next = try await logs.logs(namespace: namespace, pod: name, container: container, offset: offset)
                else { break }
                if !next.data.isEmpty {
                    try await writer.write(ByteBuffer(bytes: next.data))
                    offset += next.data.count
                }
                if next.finished { break }
            }
            try await writer.finish(nil)
        })
    }

    /// The last `count` lines of `data`.
    static func lastLines(_ data: Data, count: Int) -> Data {
        guard count >= 0 else { return data }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let kept = lines.suffix(count)
        guard !kept.isEmpty else { return Data() }
        return Data(kept.joined(separator: [UInt8(ascii: "\n")])) + Data([UInt8(ascii: "\n")])
    }

    // MARK: - Encoding

    /// The request body as JSON; an empty body is an error, a YAML or protobuf body 415.
    private static func body(of request: Request) async throws -> JSONValue {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodySize)
        let data = Data(buffer.readableBytesView)
        let mediaType = mediaType(request)
        if mediaType.contains("yaml") && mediaType != "application/apply-patch+yaml" || mediaType.contains("protobuf") {
            throw APIError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - send JSON (\(mediaType) is not supported)")
        }
        guard !data.isEmpty else { throw APIError.badRequest("the request needs a JSON body") }
        do {
            return try JSONValue(data: data)
        } catch {
            throw APIError.badRequest("the request body is not valid JSON: \(error)")
        }
    }

    /// The Content-Type without parameters; a missing one means JSON (the Python client sends none).
    private static func mediaType(_ request: Request) -> String {
        let header = request.headers[.contentType] ?? "application/json"
        return header.split(separator: ";").first.map { $0.trimmingSpaces.lowercased() } ?? "application/json"
    }

    /// The Table apiVersion the client asked for in Accept (`as=Table`), or nil for plain objects.
    private static func tableVersion(_ request: Request) -> String? {
        let accept = request.headers[.accept] ?? ""
        for option in accept.split(separator: ",") {
            let parameters = Set(option.split(separator: ";").map { $0.trimmingSpaces })
            guard parameters.contains("as=Table"), parameters.contains("g=meta.k8s.io") else { continue }
            if parameters.contains("v=v1") { return "meta.k8s.io/v1" }
            if parameters.contains("v=v1beta1") { return "meta.k8s.io/v1beta1" }
        }
        return nil
    }

    private static func tableContentType(_ apiVersion: String) -> String {
        "application/json;as=Table;v=\(apiVersion.split(separator: "/").last ?? "v1");g=meta.k8s.io"
    }

    static func json(_ value: JSONValue, status: Int = 200, contentType: String = "application/json") -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: [.contentType: contentType],
                 body: .init(byteBuffer: ByteBuffer(bytes: value.encoded())))
    }
}
