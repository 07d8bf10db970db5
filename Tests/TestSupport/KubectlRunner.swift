import Foundation
import Testing

/// The real kubectl against one API server, with a kubeconfig, cache and output files in
/// `directory` (which the caller creates and removes).
public struct KubectlRunner: Sendable {
    /// The installed kubectl, or nil: the kubectl tests then skip, saying `missingReason`.
    public static let installedPath = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    public static let missingReason = "no kubectl in /usr/bin or /usr/local/bin (apt-get install kubectl or kubernetes-client)"

    /// What one kubectl run did.
    public struct Result: Sendable {
        public let status: Int32
        /// Standard output and standard error together.
        public let output: String
    }

    /// The API server's base URL, e.g. `http://127.0.0.1:8001`.
    public let server: String
    public let directory: String
    /// kubectl's `--request-timeout`, e.g. `20s`.
    public let requestTimeout: String

    public init(server: String, directory: String, requestTimeout: String) {
        self.server = server
        self.directory = directory
        self.requestTimeout = requestTimeout
    }

    /// Runs kubectl with `arguments`, writing `input` to its standard input. The output
    /// goes to a file, so a long output cannot fill a pipe and stall kubectl.
    public func result(_ arguments: [String], input: String? = nil) async throws -> Result {
        let executable = try #require(Self.installedPath, "\(Self.missingReason)")
        let kubeconfig = try writeKubeconfig()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", directory + "/cache", "--request-timeout", requestTimeout]
            + arguments
        let outputFile = directory + "/kubectl-\(UUID().uuidString.prefix(8)).out"
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputFile) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
                if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
                try? stdin.fileHandleForWriting.close()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        try output.close()
        return Result(status: status, output: (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "")
    }

    /// Runs kubectl and returns its output; records an issue when it fails and
    /// `expectSuccess` (the default).
    @discardableResult
    public func callAsFunction(_ arguments: String..., input: String? = nil, expectSuccess: Bool = true,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let result = try await result(arguments, input: input)
        if expectSuccess {
            #expect(result.status == 0, "kubectl \(arguments.joined(separator: " ")) failed: \(result.output)",
                    sourceLocation: sourceLocation)
        }
        return result.output
    }

    /// The kubeconfig for `server` (namespace `default`), written on first use and again
    /// when the server moved (a restarted API server on a new port).
    private func writeKubeconfig() throws -> String {
        let path = directory + "/kubeconfig"
        let config = """
            apiVersion: v1
            kind: Config
            clusters: [{name: agora, cluster: {server: "\(server)"}}]
            users: [{name: agora, user: {}}]
            contexts: [{name: agora, context: {cluster: agora, user: agora, namespace: default}}]
            current-context: agora
            """
        if (try? String(contentsOfFile: path, encoding: .utf8)) != config {
            try config.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return path
    }
}
