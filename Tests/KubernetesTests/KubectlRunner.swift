import Foundation
import Testing

/// The real kubectl against one API server, with a kubeconfig, cache and output files in
/// `directory` (which the caller creates and removes).
struct KubectlRunner {
    /// The installed kubectl, or nil: the kubectl tests then skip, saying `missingReason`.
    static let installedPath = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let missingReason = "no kubectl in /usr/bin or /usr/local/bin (apt-get install kubectl or kubernetes-client)"

    /// What one kubectl run did.
    struct Result {
        let status: Int32
        /// Standard output and standard error together.
        let output: String
    }

    /// The API server's base URL, e.g. `http://127.0.0.1:8001`.
    let server: String
    let directory: String
    /// kubectl's `--request-timeout`, e.g. `20s`.
    let requestTimeout: String

    /// Runs kubectl with `arguments`, writing `input` to its standard input. The output
    /// goes to a file, so a long output cannot fill a pipe and stall kubectl.
    func result(_ arguments: [String], input: String? = nil) async throws -> Result {
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
    func callAsFunction(_ arguments: String..., input: String? = nil, expectSuccess: Bool = true,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let result = try await result(arguments, input: input)
        if expectSuccess {
            #expect(result.status == 0, "kubectl \(arguments.joined(separator: " ")) failed: \(result.output)",
                    sourceLocation: sourceLocation)
        }
        return result.output
    }

    /// The kubeconfig for `server` (namespace `default`), written on first use.
    private func writeKubeconfig() throws -> String {
        let path = directory + "/kubeconfig"
        if !FileManager.default.fileExists(atPath: path) {
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: agora, cluster: {server: "\(server)"}}]
                users: [{name: agora, user: {}}]
                contexts: [{name: agora, context: {cluster: agora, user: agora, namespace: default}}]
                current-context: agora
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return path
    }
}
