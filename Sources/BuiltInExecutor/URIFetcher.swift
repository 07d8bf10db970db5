import AgoraProto
import Foundation
import Glibc
import ProcessSupervision

/// Fetches a task's `CommandInfo.uris` into its directory before it starts, as
/// Mesos' fetcher does: local files are copied, `http://` URLs downloaded
/// (following up to five redirects), then `executable` files made 0755 and archives
/// unpacked (`extract`, on by default). There is no cache: `cache` is ignored and
/// every URI is fetched each time.
struct URIFetcher: Sendable {
    /// Redirects followed before a download is given up.
    static let maxRedirects = 5
    /// How long a download may wait for the server at any one point.
    var idleTimeout: Duration = .seconds(60)
    /// The `PATH` searched for `tar` and `unzip`.
    var searchPath = ProcessSpawner.defaultSearchPath
    var monitor: ChildProcessMonitor = .shared

    /// Plans every URI first (so a bad one fails before anything is fetched), then
    /// fetches them in order.
    func fetchAll(_ uris: [Agora_V1_CommandInfo.URI], into directory: String) async throws(URIFetchError) {
        var plans: [URIFetchPlan] = []
        for uri in uris { plans.append(try URIFetchPlan(uri, directory: directory)) }
        for plan in plans { try await fetch(plan) }
    }

    func fetch(_ plan: URIFetchPlan) async throws(URIFetchError) {
        let parent = (plan.destination as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw URIFetchError(uri: plan.uri, "cannot create \(parent): \(error.localizedDescription)")
        }
        switch plan.source {
        case .local(let path):
            try copy(path, to: plan.destination, uri: plan.uri)
        case .http(let url):
            try await download(url, to: plan.destination, uri: plan.uri)
        }
        if plan.executable, chmod(plan.destination, 0o755) != 0 {
            throw URIFetchError(uri: plan.uri, "cannot make \(plan.destination) executable: \(String(cString: strerror(errno)))")
        }
        if let archive = plan.archive {
            try await extract(plan.destination, archive, into: plan.directory, uri: plan.uri)
        }
    }

    private func copy(_ path: String, to destination: String, uri: String) throws(URIFetchError) {
        guard FileManager.default.fileExists(atPath: path) else { throw URIFetchError(uri: uri, "\(path) does not exist") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw URIFetchError(uri: uri, "\(path) is not readable") }
        do {
            if FileManager.default.fileExists(atPath: destination) { try FileManager.default.removeItem(atPath: destination) }
            try FileManager.default.copyItem(atPath: path, toPath: destination)
        } catch {
            throw URIFetchError(uri: uri, "copying \(path) to \(destination) failed: \(error.localizedDescription)")
        }
    }

    private func download(_ url: URL, to destination: String, uri: String) async throws(URIFetchError) {
        let deadline = IODeadline.idle(idleTimeout)
        do {
            try await BlockingIO.run {
                let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    throw NetworkError("cannot create \(destination): \(String(cString: strerror(errno)))")
                }
                defer { close(fd) }
                let (head, finalURL) = try PlainHTTPClient.get(following: url, maxRedirects: Self.maxRedirects,
                                                               deadline: deadline) { bytes in
                    var offset = bytes.startIndex
                    while offset < bytes.endIndex {
                        let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                        guard written > 0 else {
                            throw NetworkError("writing \(destination) failed: \(String(cString: strerror(errno)))")
                        }
                        offset += written
                    }
                }
                guard (200..<300).contains(head.status) else {
                    throw NetworkError("\(finalURL.absoluteString) answered HTTP \(head.status)")
                }
            }
        } catch {
            unlink(destination)
            throw URIFetchError(uri: uri, "\(error)")
        }
    }

    private func extract(_ archivePath: String, _ archive: URIFetchPlan.Archive, into directory: String,
                         uri: String) async throws(URIFetchError) {
        let tool: String
        let arguments: [String]
        switch archive {
        case .tar:
            (tool, arguments) = ("tar", ["-xf", archivePath, "-C", directory])
        case .zip:
            (tool, arguments) = ("unzip", ["-o", "-q", archivePath, "-d", directory])
        }
        guard searchPath.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }) else {
            throw URIFetchError(uri: uri, "cannot extract \((archivePath as NSString).lastPathComponent): \(tool) is not installed on this agent")
        }
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("agora-fetch-\(UUID().uuidString)").path
        defer { unlink(errors) }
        let status: ExitStatus
        do {
            let pid = try monitor.spawn(SpawnSpec(command: tool, arguments: arguments, environment: ["PATH": searchPath],
                                                  workingDirectory: directory, stdoutPath: "/dev/null", stderrPath: errors))
            status = await monitor.waitForExit(pid)
        } catch {
            throw URIFetchError(uri: uri, "cannot run \(tool): \(error)")
        }
        guard status.isSuccess else {
            let output = (FileManager.default.contents(atPath: errors).map { String(decoding: $0, as: UTF8.self) } ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let detail = output.isEmpty ? "" : ": " + String(output.suffix(500))
            throw URIFetchError(uri: uri, "extracting \((archivePath as NSString).lastPathComponent) failed: \(tool) \(status)\(detail)")
        }
    }
}
