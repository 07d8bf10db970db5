import Foundation
import Snapshots
import Hummingbird

/// The agent's HTTP endpoints: `/health`, `/state`, `/metrics`, and
/// `/files/read?path=…[&offset=N][&length=N]` for reading files under the work dir
/// (sandboxes).
///
/// `/files/read` answers with the file's raw bytes. `offset` (default 0) is where
/// reading starts and `length` (default: to the end) the most bytes returned, as in
/// Mesos, so a client tails a growing `stdout` by asking again from where it
/// stopped. An offset exactly at the end gives an empty 200 response; one past the
/// end gives 416 with an empty body. A negative or non-numeric `offset` or `length`
/// is a 400.
public enum AgentHTTP {
    public static func router(snapshots: SnapshotStore, workDirectory: String) -> Router<BasicRequestContext> {
        let root = URL(fileURLWithPath: workDirectory).standardizedFileURL.resolvingSymlinksInPath().path
        let router = Router()
        router.get("/health") { _, _ in
            text("ok\n")
        }
        router.get("/state") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: await snapshots.state())))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await snapshots.metrics())))
        }
        router.get("/files/read") { request, _ in
            let parameters = request.uri.queryParameters
            guard let requested = parameters.get("path"), !requested.isEmpty else {
                return text("missing the path parameter\n", status: .badRequest)
            }
            let offset: UInt64
            let length: UInt64?
            do throws(BadParameter) {
                offset = try byteCount(parameters.get("offset"), name: "offset") ?? 0
                length = try byteCount(parameters.get("length"), name: "length")
            } catch {
                return text("\(error.description)\n", status: .badRequest)
            }
            let absolute = requested.hasPrefix("/") ? requested : root + "/" + requested
            let resolved = URL(fileURLWithPath: absolute).standardizedFileURL.resolvingSymlinksInPath().path
            guard resolved == root || resolved.hasPrefix(root + "/") else {
                return text("\(requested) is outside the agent's work dir\n", status: .forbidden)
            }
            guard let handle = FileHandle(forReadingAtPath: resolved) else {
                return text("no readable file at \(requested)\n", status: .notFound)
            }
            defer { try? handle.close() }
            do {
                let size = try handle.seekToEnd()
                guard offset <= size else {
                    return Response(status: .rangeNotSatisfiable, headers: [.contentType: "application/octet-stream"])
                }
                try handle.seek(toOffset: offset)
                let available = size - offset
                let count = Int(min(available, length ?? available))
                let data = count == 0 ? Data() : try handle.read(upToCount: count) ?? Data()
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                                body: .init(byteBuffer: ByteBuffer(bytes: data)))
            } catch {
                return text("cannot read \(requested): \(error.localizedDescription)\n", status: .notFound)
            }
        }
        return router
    }

    /// A non-negative byte count from a query parameter, or nil when it is absent.
    private static func byteCount(_ value: String?, name: String) throws(BadParameter) -> UInt64? {
        guard let value else { return nil }
        guard let number = UInt64(value) else {
            throw BadParameter(description: "\(name) must be a non-negative whole number of bytes, not \(value.debugDescription)")
        }
        return number
    }

    private struct BadParameter: Error {
        let description: String
    }

    private static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
