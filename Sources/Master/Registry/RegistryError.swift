/// The registry could not be opened, read or written.
///
/// A master that cannot write its registry stops rather than run on state it could
/// not make durable (as Mesos does); the description names the file and what to do.
public struct RegistryError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The file cannot be created or opened (missing directory, permissions).
        public static let cannotOpen = Code(name: "cannotOpen")
        /// The file is not a registry, or holds data this master cannot decode.
        public static let corrupt = Code(name: "corrupt")
        /// The registry was written by a newer Agora with a schema this one does not know.
        public static let newerSchema = Code(name: "newerSchema")
        /// Another process (a second master on the same work dir) holds the registry.
        public static let locked = Code(name: "locked")
        /// Reading the stored state failed.
        public static let readFailed = Code(name: "readFailed")
        /// Writing changes failed; none of the batch was stored.
        public static let writeFailed = Code(name: "writeFailed")

        public var description: String { name }
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
