import AgoraProto
import Foundation
import Testing

@testable import Agent
@testable import BuiltInExecutor
import ProcessSupervision

private func uri(_ value: String, executable: Bool = false, extract: Bool? = nil,
                 outputFile: String? = nil) -> Agora_V1_CommandInfo.URI {
    var uri = Agora_V1_CommandInfo.URI()
    uri.value = value
    uri.executable = executable
    if let extract { uri.extract = extract }
    if let outputFile { uri.outputFile = outputFile }
    return uri
}

@Suite("URI fetch plans")
struct URIFetchPlanTests {
    @Test("absolute paths and file:// URLs are copied under their own name")
    func localSources() throws {
        let path = try URIFetchPlan(uri("/opt/app/run.sh"), directory: "/sandbox")
        #expect(path.source == .local(path: "/opt/app/run.sh"))
        #expect(path.destination == "/sandbox/run.sh")
        let url = try URIFetchPlan(uri("file:///opt/my%20app/run.sh"), directory: "/sandbox")
        #expect(url.source == .local(path: "/opt/my app/run.sh"))
        #expect(url.destination == "/sandbox/run.sh")
    }

    @Test("http URLs are named after their last path component, or output_file")
    func httpSources() throws {
        let plan = try URIFetchPlan(uri("http://example.org/dist/app.tar.gz?version=2"), directory: "/sandbox")
        #expect(plan.source == .http(URL(string: "http://example.org/dist/app.tar.gz?version=2")!))
        #expect(plan.destination == "/sandbox/app.tar.gz")
        #expect(plan.archive == .tar)
        let renamed = try URIFetchPlan(uri("http://example.org/download", outputFile: "bin/tool"), directory: "/sandbox")
        #expect(renamed.destination == "/sandbox/bin/tool")
    }

    @Test("archives are recognised by name and unpacked unless extract is false", arguments: [
        ("a.tar", URIFetchPlan.Archive?.some(.tar)), ("a.tar.gz", .tar), ("A.TGZ", .tar), ("a.tar.bz2", .tar),
        ("a.tar.xz", .tar), ("a.zip", .zip), ("a.gz", nil), ("a.txt", nil), ("tarball", nil),
    ])
    func archives(name: String, expected: URIFetchPlan.Archive?) throws {
        #expect(try URIFetchPlan(uri("/files/" + name), directory: "/s").archive == expected)
        #expect(try URIFetchPlan(uri("/files/" + name, extract: false), directory: "/s").archive == nil)
    }

    @Test("unusable URIs are refused with the URI and the reason", arguments: [
        ("", nil, "the URI is empty"),
        ("relative/file", nil, "not an absolute path"),
        ("https://example.org/a", nil, "https is not supported"),
        ("ftp://example.org/a", nil, "the ftp scheme is not supported"),
        ("file://otherhost/a", nil, "on this host"),
        ("http://example.org/", nil, "set output_file"),
        ("/a/b", "../escape", "must be a relative path"),
        ("/a/b", "/etc/passwd", "must be a relative path"),
    ] as [(String, String?, String)])
    func refused(value: String, outputFile: String?, expected: String) {
        do {
            let plan = try URIFetchPlan(uri(value, outputFile: outputFile), directory: "/sandbox")
            Issue.record("\(value) was accepted as \(plan)")
        } catch {
            #expect(error.description.hasPrefix("could not fetch \(value):"), "\(error)")
            #expect(error.description.contains(expected), "\(error)")
        }
    }
}

@Suite("URI fetching", .serialized)
struct URIFetcherTests {
    let fetcher = URIFetcher(idleTimeout: .seconds(10))
    static let hasUnzip = Sandbox.defaultPath.split(separator: ":").contains {
        FileManager.default.isExecutableFile(atPath: "\($0)/unzip")
    }

    /// A source directory with `run.sh`, `bundle.tar.gz` (holding `data/greeting.txt`)
    /// and `bundle.zip` (holding `zipped.txt`).
    private func makeSources() async throws -> String {
        let sources = try ContainerizerTestSupport.makeTemporaryDirectory("sources")
        let script = "mkdir -p data && echo hello > data/greeting.txt && tar -czf bundle.tar.gz data && rm -r data"
            + " && echo zipped > zipped.txt && python3 -m zipfile -c bundle.zip zipped.txt && rm zipped.txt"
            + " && printf '#!/bin/sh\\necho ran\\n' > run.sh && echo not-an-archive > broken.tar.gz"
        let pid = try ChildProcessMonitor.shared.spawn(.shell(script, environment: ["PATH": Sandbox.defaultPath],
                                                              workingDirectory: sources))
        #expect(await ChildProcessMonitor.shared.waitForExit(pid) == .exited(code: 0))
        return sources
    }

    @Test("a local file is copied and made executable; archives are unpacked into the directory")
    func localFetch() async throws {
        let sources = try await makeSources()
        let sandbox = try ContainerizerTestSupport.makeTemporaryDirectory("sandbox")
        defer { ContainerizerTestSupport.remove(sources); ContainerizerTestSupport.remove(sandbox) }
        try await fetcher.fetchAll([uri("file://" + sources + "/run.sh", executable: true),
                                    uri(sources + "/bundle.tar.gz")], into: sandbox)
        #expect(FileManager.default.isExecutableFile(atPath: sandbox + "/run.sh"))
        let mode = try FileManager.default.attributesOfItem(atPath: sandbox + "/run.sh")[.posixPermissions] as? Int
        #expect(mode == 0o755)
        #expect(ContainerizerTestSupport.read(sandbox + "/data/greeting.txt") == "hello\n")
        if Self.hasUnzip {
            try await fetcher.fetchAll([uri(sources + "/bundle.zip")], into: sandbox)
            #expect(ContainerizerTestSupport.read(sandbox + "/zipped.txt") == "zipped\n")
        } else {
            await #expect(throws: URIFetchError(uri: sources + "/bundle.zip",
                                                "cannot extract bundle.zip: unzip is not installed on this agent")) {
                try await fetcher.fetchAll([uri(sources + "/bundle.zip")], into: sandbox)
            }
        }
        #expect(FileManager.default.fileExists(atPath: sandbox + "/bundle.tar.gz"), "the archive itself stays")
    }

    @Test("a missing file or a broken archive fails with the URI and the reason")
    func localFailures() async throws {
        let sources = try await makeSources()
        let sandbox = try ContainerizerTestSupport.makeTemporaryDirectory("sandbox")
        defer { ContainerizerTestSupport.remove(sources); ContainerizerTestSupport.remove(sandbox) }
        await #expect(throws: URIFetchError(uri: sources + "/nope", "\(sources)/nope does not exist")) {
            try await fetcher.fetchAll([uri(sources + "/nope")], into: sandbox)
        }
        do {
            try await fetcher.fetchAll([uri(sources + "/broken.tar.gz")], into: sandbox)
            Issue.record("a broken archive was accepted")
        } catch {
            #expect(error.description.contains("could not fetch \(sources)/broken.tar.gz: extracting broken.tar.gz failed: tar exited"),
                    "\(error)")
        }
    }

    @Test("http downloads follow redirects and fail clearly on error statuses and dead servers")
    func httpFetch() async throws {
        let sources = try await makeSources()
        let sandbox = try ContainerizerTestSupport.makeTemporaryDirectory("sandbox")
        defer { ContainerizerTestSupport.remove(sources); ContainerizerTestSupport.remove(sandbox) }
        try FileManager.default.createDirectory(atPath: sources + "/listing", withIntermediateDirectories: true)
        let server = try await PythonHTTPServer.start(serving: sources)

        try await fetcher.fetchAll([uri(server.baseURL + "/run.sh", executable: true),
                                    uri(server.baseURL + "/bundle.tar.gz"),
                                    // http.server answers a directory without its slash with a 301.
                                    uri(server.baseURL + "/listing", outputFile: "listing.html")], into: sandbox)
        #expect(ContainerizerTestSupport.read(sandbox + "/run.sh") == "#!/bin/sh\necho ran\n")
        #expect(FileManager.default.isExecutableFile(atPath: sandbox + "/run.sh"))
        #expect(ContainerizerTestSupport.read(sandbox + "/data/greeting.txt") == "hello\n")
        #expect(ContainerizerTestSupport.read(sandbox + "/listing.html").contains("Directory listing"))

        do {
            try await fetcher.fetchAll([uri(server.baseURL + "/missing.txt")], into: sandbox)
            Issue.record("a 404 was accepted")
        } catch {
            #expect(error.description == "could not fetch \(server.baseURL)/missing.txt: \(server.baseURL)/missing.txt answered HTTP 404")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox + "/missing.txt"), "no partial file is left")
        await server.stop()

        let closedPort = try NetworkTestSupport.unusedPort()
        do {
            try await fetcher.fetchAll([uri("http://127.0.0.1:\(closedPort)/a.txt")], into: sandbox)
            Issue.record("a dead server was accepted")
        } catch {
            #expect(error.description.contains("connection to 127.0.0.1:\(closedPort) failed: Connection refused"), "\(error)")
        }
    }
}
