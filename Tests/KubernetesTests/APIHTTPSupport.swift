import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import ServiceLifecycle
@testable import Kubernetes

/// Logs for tests: a fixed text for every container of every pod.
struct FixedPodLogs: PodLogSource {
    let text: String

    func logs(namespace: String, pod: String, container: String?, offset: Int) async throws(APIError) -> (data: Data, finished: Bool)? {
        let data = Data(text.utf8)
        return (offset < data.count ? data.subdata(in: offset..<data.count) : Data(), true)
    }
}

/// Runs the API on an ephemeral loopback port for the duration of `body`, then shuts it
/// down through its service group.
func withKubeAPIServer(store: ObjectStore, _ body: @Sendable (_ baseURL: String) async throws -> Void) async throws {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test.kube.http")
    logger.logLevel = .warning
    let app = Application(
        router: KubeHTTP.router(store: store, logs: FixedPodLogs(text: "hello\nworld\n")),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: logger)
    let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw APIError.internalError("the test server did not start") }
        do {
            try await body("http://127.0.0.1:\(port)")
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

/// One HTTP exchange's result.
struct HTTPReply {
    let status: Int
    let contentType: String
    let body: Data
    var json: JSONValue { (try? JSONValue(data: body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends a request with URLSession and returns status, Content-Type and body.
func send(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) async throws -> HTTPReply {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body { request.httpBody = Data(body.utf8) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    return HTTPReply(status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "", body: data)
}
