import AgoraProto
import Foundation

/// How one `CommandInfo.URI` is fetched into a task's directory: where from, to
/// which file, and what is done with it afterwards. Building a plan touches nothing.
struct URIFetchPlan: Sendable, Equatable {
    enum Source: Sendable, Equatable {
        /// A file or directory on this host (an absolute path or a `file://` URL).
        case local(path: String)
        /// An `http://` URL.
        case http(URL)
    }

    /// An archive kind the fetcher unpacks.
    enum Archive: Sendable, Equatable {
        /// `.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`, `.tar.xz`, unpacked with `tar`.
        case tar
        /// `.zip`, unpacked with `unzip`.
        case zip
    }

    /// The URI as the framework wrote it, for messages.
    var uri: String
    var source: Source
    /// Absolute path of the fetched file.
    var destination: String
    /// Where an archive is unpacked: the task's directory.
    var directory: String
    /// Set when the URI asks for extraction (the default) and its name is an archive's.
    var archive: Archive?
    /// chmod 755 after fetching.
    var executable: Bool

    init(_ uri: Agora_V1_CommandInfo.URI, directory: String) throws(URIFetchError) {
        let value = uri.value.trimmingCharacters(in: .whitespaces)
        self.uri = value
        self.directory = directory
        executable = uri.executable
        guard !value.isEmpty else { throw URIFetchError(uri: value, "the URI is empty") }
        let sourceName: String
        if value.hasPrefix("/") {
            source = .local(path: value)
            sourceName = (value as NSString).lastPathComponent
        } else if let url = URL(string: value), let scheme = url.scheme?.lowercased() {
            switch scheme {
            case "file":
                guard url.host == nil || url.host == "" || url.host == "localhost" else {
                    throw URIFetchError(uri: value, "file:// URLs must name a file on this host, not on \(url.host ?? "")")
                }
                guard url.path.hasPrefix("/") else { throw URIFetchError(uri: value, "the file:// URL has no absolute path") }
                source = .local(path: url.path)
            case "http":
                source = .http(url)
            case "https":
                throw URIFetchError(uri: value, "https is not supported by the built-in executor's fetcher; use http or file://")
            default:
                throw URIFetchError(uri: value, "the \(scheme) scheme is not supported; use an absolute path, file:// or http://")
            }
            sourceName = url.lastPathComponent == "/" ? "" : url.lastPathComponent
        } else {
            throw URIFetchError(uri: value, "not an absolute path or a file:// or http:// URL")
        }

        let name: String
        if uri.hasOutputFile {
            let output = uri.outputFile
            let components = output.split(separator: "/", omittingEmptySubsequences: true)
            guard !output.isEmpty, !output.hasPrefix("/"), !components.isEmpty,
                  !components.contains(where: { $0 == ".." || $0 == "." }) else {
                throw URIFetchError(uri: value, "output_file \(output.debugDescription) must be a relative path inside the task's directory")
            }
            name = components.joined(separator: "/")
        } else {
            guard !sourceName.isEmpty, sourceName != "/", sourceName != "..", sourceName != "." else {
                throw URIFetchError(uri: value, "cannot name the fetched file after the URI; set output_file")
            }
            name = sourceName
        }
        destination = directory + "/" + name
        archive = (!uri.hasExtract || uri.extract) ? Self.archive(named: name) : nil
    }

    /// The archive kind a file name says, if any.
    static func archive(named name: String) -> Archive? {
        let lowercased = name.lowercased()
        if [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"].contains(where: lowercased.hasSuffix) { return .tar }
        if lowercased.hasSuffix(".zip") { return .zip }
        return nil
    }
}

/// A URI could not be fetched; the description names the URI and the reason.
struct URIFetchError: Error, Equatable, CustomStringConvertible {
    let uri: String
    let reason: String

    init(uri: String, _ reason: String) {
        self.uri = uri
        self.reason = reason
    }

    var description: String { "could not fetch \(uri): \(reason)" }
}
