import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a task's files (its `stdout`, `stderr`, or anything else in its directory)
/// from the agent that runs it, over the agent's HTTP API: the task's directory comes
/// from the agent's `/state`, the bytes from `/files/read`.
///
/// A task's files can be read while its executor runs and shortly after; once the
/// agent has forgotten the task (its executor ended and every update was
/// acknowledged) it is reported as not found.
public enum TaskFiles {
    /// Reads `file` of task `taskID` of framework `frameworkID`.
    ///
    /// - Parameters:
    ///   - agentHTTP: the agent's HTTP address, `http://host:port` or `host:port`; a
    ///     framework finds it in `Offer.url.path` of the offer it launched the task with.
    ///   - file: a path relative to the task's directory, usually `"stdout"` or `"stderr"`.
    ///   - offset: the first byte to read.
    ///   - length: the most bytes to read; nil reads to the end of the file.
    /// - Returns: the bytes from `offset`, empty when `offset` is at or past the end.
    /// - Throws: ``TaskFilesError`` saying whether the request, the agent, the task or
    ///   the file was the problem.
    public static func read(agentHTTP: String, frameworkID: String, taskID: String, file: String,
                            offset: Int = 0, length: Int? = nil) async throws -> Data {
        let base = try baseURL(agentHTTP)
        guard offset >= 0 else { throw TaskFilesError(.invalidRequest, "offset must not be negative, got \(offset)") }
        if let length, length < 0 { throw TaskFilesError(.invalidRequest, "length must not be negative, got \(length)") }
        let components = file.split(separator: "/", omittingEmptySubsequences: true)
        guard !file.hasPrefix("/"), !components.isEmpty, !components.contains(where: { $0 == ".." || $0 == "." }) else {
            throw TaskFilesError(.invalidRequest, "file \(file.debugDescription) must be a relative path inside the task's directory")
        }
        let directory = try await taskDirectory(base: base, frameworkID: frameworkID, taskID: taskID)

        var query = URLComponents(url: base.appendingPathComponent("files/read"), resolvingAgainstBaseURL: false)
        query?.queryItems = [URLQueryItem(name: "path", value: directory + "/" + components.joined(separator: "/")),
                             URLQueryItem(name: "offset", value: String(offset))]
            + (length.map { [URLQueryItem(name: "length", value: String($0))] } ?? [])
        guard let url = query?.url else { throw TaskFilesError(.invalidRequest, "cannot build a /files/read URL for \(file)") }
        let (data, status) = try await get(url, agent: agentHTTP)
        switch status {
        case 200: return data
        case 416: return Data()
        case 404: throw TaskFilesError(.fileNotFound, "task \(taskID) has no file \(file) on agent \(agentHTTP)")
        default:
            throw TaskFilesError(.badResponse, "agent \(agentHTTP) answered /files/read with HTTP \(status): "
                                 + String(decoding: data.prefix(300), as: UTF8.self))
        }
    }

    private struct AgentState: Decodable {
        struct Task: Decodable {
            var id: String
            var frameworkID: String
            var directory: String?
        }

        /// Absent until the agent has published its first snapshot.
        var tasks: [Task]?
        /// Tasks that ended (absent from older agents).
        var completedTasks: [Task]?
    }

    private static func taskDirectory(base: URL, frameworkID: String, taskID: String) async throws -> String {
        let (data, status) = try await get(base.appendingPathComponent("state"), agent: base.absoluteString)
        guard status == 200 else {
            throw TaskFilesError(.badResponse, "agent \(base.absoluteString) answered /state with HTTP \(status)")
        }
        let state: AgentState
        do {
            state = try JSONDecoder().decode(AgentState.self, from: data)
        } catch {
            throw TaskFilesError(.badResponse, "agent \(base.absoluteString) sent a /state that does not decode: \(error)")
        }
        // A task that ended and then ran again under the same ID: the live one first.
        let known = (state.tasks ?? []) + (state.completedTasks ?? []).reversed()
        guard let task = known.first(where: { $0.id == taskID && $0.frameworkID == frameworkID }) else {
            throw TaskFilesError(.taskNotFound, "agent \(base.absoluteString) does not know task \(taskID) of framework \(frameworkID)")
        }
        guard let directory = task.directory else {
            throw TaskFilesError(.taskNotFound, "task \(taskID) on agent \(base.absoluteString) has no directory any more (its executor ended)")
        }
        return directory
    }

    private static func baseURL(_ agentHTTP: String) throws -> URL {
        let trimmed = agentHTTP.trimmingCharacters(in: .whitespaces)
        let text = trimmed.contains("://") ? trimmed : "http://" + trimmed
        guard !trimmed.isEmpty, let url = URL(string: text), url.host != nil,
              ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
            throw TaskFilesError(.invalidRequest, "\(agentHTTP.debugDescription) is not an agent HTTP address (http://host:port)")
        }
        return url
    }

    private static func get(_ url: URL, agent: String) async throws -> (Data, Int) {
        do {
            let (data, response) = try await URLSession.shared.data(from: url)
            return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
        } catch {
            throw TaskFilesError(.agentUnreachable, "cannot reach agent \(agent): \(error.localizedDescription)")
        }
    }
}

/// Why ``TaskFiles`` could not read a file, with a description a person can act on.
public struct TaskFilesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for code that reacts to specific failures.
    public enum Code: Equatable, Sendable {
        /// The arguments are unusable (bad address, negative offset, a path leaving the task's directory).
        case invalidRequest
        /// The agent did not answer.
        case agentUnreachable
        /// The agent does not know the task (never ran there, or forgotten since).
        case taskNotFound
        /// The task has no such file.
        case fileNotFound
        /// The agent answered something unexpected.
        case badResponse
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
