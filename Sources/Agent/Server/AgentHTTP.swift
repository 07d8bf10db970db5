import Foundation
import Hummingbird

/// The agent's HTTP endpoints: `/health`, `/state`, `/metrics`, and
/// `/files/read?path=…` for reading files under the work dir (sandboxes).
public enum AgentHTTP {
    public static func router(snapshots: AgentSnapshotStore, workDirectory: String) -> Router<BasicRequestContext> {
        let root = URL(fileURLWithPath: workDirectory).standardizedFileURL.resolvingSymlinksInPath().path
        let router = Router()
        router.get("/health") { _, _ in
            text("ok\n")
        }
        router.get("/state") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: snapshots.state)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: snapshots.metrics)))
        }
        router.get("/files/read") { request, _ in
            guard let requested = request.uri.queryParameters.get("path"), !requested.isEmpty else {
                return text("missing the path parameter\n", status: .badRequest)
            }
            let absolute = requested.hasPrefix("/") ? requested : root + "/" + requested
            let resolved = URL(fileURLWithPath: absolute).standardizedFileURL.resolvingSymlinksInPath().path
            guard resolved == root || resolved.hasPrefix(root + "/") else {
                return text("\(requested) is outside the agent's work dir\n", status: .forbidden)
            }
            guard let data = FileManager.default.contents(atPath: resolved) else {
                return text("no readable file at \(requested)\n", status: .notFound)
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return router
    }

    private static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
