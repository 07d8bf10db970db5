import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `agora marathon` attached to a `TestCluster`, and a small JSON client for
/// its REST API.
final class MarathonProcess: Sendable {
    let process: DaemonProcess
    let url: String
    let workDir: String

    static func start(cluster: TestCluster, workDir: String? = nil, flags: [String] = []) async throws -> MarathonProcess {
        let workDir = workDir ?? cluster.workDir + "/marathon"
        let process = try DaemonProcess(["marathon", "--master", cluster.masterAddress, "--work-dir", workDir,
                                         "--ip", "127.0.0.1", "--advertise-host", "127.0.0.1", "--http-port", "0",
                                         "--log-level", "debug"] + flags, name: "marathon")
        do {
            let ready = try await process.readyFields()
            return MarathonProcess(process: process, url: ready["marathon"] as? String ?? "", workDir: workDir)
        } catch {
            await process.stop()
            throw error
        }
    }

    private init(process: DaemonProcess, url: String, workDir: String) {
        self.process = process
        self.url = url
        self.workDir = workDir
    }

    struct Reply: @unchecked Sendable {
        let status: Int
        let body: Data
        let headers: [String: String]

        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(_ method: String, _ path: String, json: Any? = nil, raw: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let raw {
            request.httpBody = Data(raw.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http?.allHeaderFields ?? [:] {
            headers[String(describing: key).lowercased()] = String(describing: value)
        }
        return Reply(status: http?.statusCode ?? 0, body: data, headers: headers)
    }

    /// The app's JSON (`GET /v2/apps/{id}`), or nil when it does not exist.
    func app(_ id: String) async throws -> [String: Any]? {
        let reply = try await request("GET", "/v2/apps\(id)")
        return reply.status == 200 ? reply.object["app"] as? [String: Any] : nil
    }

    /// Polls the app until `condition` holds; the last app JSON seen when it times out.
    @discardableResult
    func waitForApp(_ id: String, timeout: Duration = .seconds(60),
                    _ condition: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any]?
        while ContinuousClock.now < deadline {
            last = try await app(id)
            if let last, condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("app \(id) did not reach the expected state; last seen: \(last.map { "\($0)" } ?? "missing")")
        return nil
    }

    /// The deployment's status document from the Agora endpoint.
    func deployment(_ id: String) async throws -> [String: Any] {
        try await request("GET", "/agora/v1/deployments/\(id)").object
    }

    func stop() async {
        await process.stop()
    }
}

extension [String: Any] {
    func int(_ key: String) -> Int { (self[key] as? NSNumber)?.intValue ?? -1 }
    var tasks: [[String: Any]] { self["tasks"] as? [[String: Any]] ?? [] }
    var deploymentIDs: [String] { (self["deployments"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }
    var taskIDs: Set<String> { Set(tasks.compactMap { $0["id"] as? String }) }
}
