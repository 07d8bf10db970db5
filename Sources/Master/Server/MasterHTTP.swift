import Foundation
import Snapshots
import Hummingbird

/// The master's HTTP endpoints: `/health`, `/state` (JSON), `/state-summary` (the same
/// document without its task lists), `/tasks` (the tasks a page at a time, with Mesos'
/// query parameters: see `TaskPageRequest`) and `/metrics` (Prometheus text), answered
/// from snapshots that include every change made before the request.
public enum MasterHTTP {
    public static func router(snapshots: SnapshotStore) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/state") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: await snapshots.state())))
        }
        router.get("/state-summary") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: await snapshots.summary())))
        }
        router.get("/tasks") { request, _ in
            let page: TaskPageRequest
            do throws(TaskPageRequest.Invalid) {
                page = try TaskPageRequest(query: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
            } catch {
                return Response(status: .badRequest, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "\(error.description)\n")))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: page.document(from: await snapshots.tasks()))))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await snapshots.metrics())))
        }
        return router
    }
}
