/// An artifact the agent downloads into the task's sandbox before starting it (`fetch[]`).
public struct FetchURI: Sendable, Hashable {
    public var uri: String
    /// Mark the file executable.
    public var executable: Bool
    /// Unpack archives (`.tgz`, `.tar.gz`, `.zip`, …).
    public var extract: Bool
    /// Keep a copy in the agent's cache.
    public var cache: Bool
    /// Name to save the file as in the sandbox; default is the URI's last component.
    public var outputFile: String?

    public init(uri: String, executable: Bool = false, extract: Bool = true, cache: Bool = false,
                outputFile: String? = nil) {
        self.uri = uri
        self.executable = executable
        self.extract = extract
        self.cache = cache
        self.outputFile = outputFile
    }

    /// The entry Marathon makes from a legacy `uris` element: extract only archives.
    public init(legacyURI uri: String) {
        self.init(uri: uri, extract: Self.isArchive(uri))
    }

    /// Whether `uri` names an archive Marathon would extract.
    public static func isArchive(_ uri: String) -> Bool {
        [".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"].contains { uri.hasSuffix($0) }
    }

    var json: MarathonJSON {
        .compactObject([
            "uri": .string(uri), "executable": .bool(executable), "extract": .bool(extract),
            "cache": .bool(cache), "outputFile": outputFile.map(MarathonJSON.string),
        ])
    }

    static func read(_ value: MarathonJSON, _ path: String, _ reader: inout JSONReader) -> FetchURI? {
        guard let members = reader.object(value, path) else { return nil }
        guard let uri = reader.string(members["uri"], "\(path)/uri") else {
            if members["uri"] == nil || members["uri"] == .null { reader.typeError("\(path)/uri", "error.path.missing") }
            return nil
        }
        return FetchURI(
            uri: uri,
            executable: reader.bool(members["executable"], "\(path)/executable") ?? false,
            extract: reader.bool(members["extract"], "\(path)/extract") ?? true,
            cache: reader.bool(members["cache"], "\(path)/cache") ?? false,
            outputFile: reader.string(members["outputFile"], "\(path)/outputFile"))
    }
}
