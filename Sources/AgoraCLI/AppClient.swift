import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An error an `agora app` command reports on standard error before exiting with `exitCode`.
struct AppCommandError: Error, CustomStringConvertible {
    let description: String
    /// 1 for failures (unreachable server, failed deployment), 2 for bad input.
    let exitCode: Int32

    static func failure(_ message: String) -> AppCommandError {
        AppCommandError(description: message, exitCode: 1)
    }

    static func invalid(_ message: String) -> AppCommandError {
        AppCommandError(description: message, exitCode: 2)
    }
}

/// One HTTP response from the Marathon API.
struct HTTPReply: Sendable {
    let status: Int
    /// Header values by lower-cased name.
    let headers: [String: String]
    let body: Data

    func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    var text: String {
        String(decoding: body, as: UTF8.self)
    }
}

/// A client for the Marathon v2 REST API and Agora's `/agora/v1` additions.
struct MarathonClient: Sendable {
    /// The base URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    let baseURL: String

    /// Checks that `text` is an http(s) URL; the error names the flag.
    init(baseURL text: String) throws(AppCommandError) {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw .invalid("invalid --marathon \"\(text)\": expected a URL like http://127.0.0.1:8080")
        }
        baseURL = trimmed
    }

    /// The path of an app (`/web` → `/v2/apps/web`), its segments percent-encoded.
    static func appPath(_ appID: String, suffix: String = "") -> String {
        "/v2/apps" + encodedPath(AppManifest.normalizedAppID(appID) ?? "/") + suffix
    }

    /// Percent-encodes each segment of `path`, keeping the slashes.
    static func encodedPath(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }
            .joined(separator: "/")
    }

    /// Sends one request and returns whatever the server answered; only a failure to
    /// reach the server throws.
    func send(_ method: String, _ path: String, query: [URLQueryItem] = [], json body: Data? = nil) async throws(AppCommandError) -> HTTPReply {
        guard var components = URLComponents(string: baseURL + path) else {
            throw .invalid("cannot build a URL from \(baseURL) and \(path)")
        }
        if !query.isEmpty { components.queryItems = query }
        guard let url = components.url else { throw .invalid("cannot build a URL from \(baseURL) and \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else {
                throw AppCommandError.failure("the server at \(baseURL) did not answer with HTTP")
            }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            return HTTPReply(status: http.statusCode, headers: headers, body: data)
        } catch let error as AppCommandError {
            throw error
        } catch {
            throw .failure("cannot reach the Marathon API at \(baseURL): \(error.localizedDescription) (is `agora marathon` running? set --marathon or AGORA_MARATHON)")
        }
    }

    /// Sends a request and fails with the server's error unless the status is in `expected`.
    func call(_ method: String, _ path: String, query: [URLQueryItem] = [], json body: Data? = nil,
              expecting expected: Set<Int> = [200], subject: String? = nil) async throws(AppCommandError) -> HTTPReply {
        let reply = try await send(method, path, query: query, json: body)
        guard expected.contains(reply.status) else {
            let message = MarathonErrorText.describe(status: reply.status, body: reply.body)
            let prefix = "\(method) \(path) failed"
            throw AppCommandError(description: (subject.map { "\($0): " } ?? "\(prefix): ") + message,
                                  exitCode: [400, 422].contains(reply.status) ? 2 : 1)
        }
        return reply
    }

    /// Decodes a reply body, or explains that the server's answer was not understood.
    static func decode<T: Decodable>(_ type: T.Type, from reply: HTTPReply, what: String) throws(AppCommandError) -> T {
        do {
            return try JSONDecoder().decode(type, from: reply.body)
        } catch {
            throw .failure("the server sent \(what) this client does not understand: \(error)")
        }
    }
}

/// Turns Marathon's error bodies into text a person can act on, with no I/O.
enum MarathonErrorText {
    /// `{"message": …, "details": [{"path", "errors"}] | "…"}` → the message, then one
    /// `path: errors` line per detail; 409 "locked" adds how to override it.
    static func describe(status: Int, body: Data) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { return "HTTP \(status)" }
            return "HTTP \(status): " + (text.count > 300 ? String(text.prefix(300)) + "…" : text)
        }
        var lines = [(object["message"] as? String) ?? "HTTP \(status)"]
        if let details = object["details"] as? [[String: Any]] {
            for detail in details {
                let path = (detail["path"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "/"
                let errors = (detail["errors"] as? [Any])?.map { "\($0)" } ?? []
                lines.append("  \(path): " + (errors.isEmpty ? "invalid" : errors.joined(separator: "; ")))
            }
        } else if let details = object["details"] as? String, !details.isEmpty {
            lines[0] += ": " + details
        }
        if status == 409, object["deployments"] != nil || lines[0].lowercased().contains("locked") {
            lines.append("the app is being deployed; wait for that deployment, or pass --force to cancel it and apply this change")
        }
        return lines.joined(separator: "\n")
    }
}
