import AgoraProto
import Foundation

/// Where a framework keeps the ID the master assigned it, so that after a restart it
/// re-subscribes as the same framework (within its failover timeout) and its tasks
/// keep running.
public protocol FrameworkIDStore: Sendable {
    /// The stored ID, or `nil` if this framework has never subscribed.
    func load() throws -> Agora_V1_FrameworkID?
    /// Remembers `id` durably.
    func save(_ id: Agora_V1_FrameworkID) throws
    /// Forgets the ID (after the framework was torn down).
    func clear() throws
}

/// A `FrameworkIDStore` in one small text file, replaced atomically on save.
public struct FileFrameworkIDStore: FrameworkIDStore {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func load() throws -> Agora_V1_FrameworkID? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return nil }
        var id = Agora_V1_FrameworkID()
        id.value = text
        return id
    }

    public func save(_ id: Agora_V1_FrameworkID) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((id.value + "\n").utf8).write(to: url, options: .atomic)
    }

    public func clear() throws {
        if FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
    }
}
