/// The ID of the task that runs one container of one launch attempt of a pod:
/// `pod.<namespace>.<pod>.<container>.<uid prefix>.<attempt>`.
///
/// Namespaces and container names cannot contain dots (they are DNS labels), so the
/// pod name, which may, is whatever lies between them; the UID prefix tells a pod
/// from a later one with the same name, the attempt tells relaunches apart.
public struct PodTaskID: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var podName: String
    public var container: String
    public var uidPrefix: String
    public var attempt: Int

    public init(namespace: String, podName: String, container: String, uid: String, attempt: Int) {
        self.namespace = namespace
        self.podName = podName
        self.container = container
        self.uidPrefix = String(uid.replacingOccurrences(of: "-", with: "").prefix(8))
        self.attempt = attempt
    }

    /// Reads a task ID this adapter made; nil for any other.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 6, parts[0] == "pod", let attempt = Int(parts[parts.count - 1]), attempt >= 0 else { return nil }
        namespace = parts[1]
        podName = parts[2..<(parts.count - 3)].joined(separator: ".")
        container = parts[parts.count - 3]
        uidPrefix = parts[parts.count - 2]
        self.attempt = attempt
        guard !namespace.isEmpty, !podName.isEmpty, !container.isEmpty, !uidPrefix.isEmpty else { return nil }
    }

    public var value: String { "pod.\(namespace).\(podName).\(container).\(uidPrefix).\(attempt)" }
    public var description: String { value }

    /// The executor of the attempt's task group: `pod.<namespace>.<pod>.<uid prefix>.<attempt>`.
    public var executorID: String { "pod.\(namespace).\(podName).\(uidPrefix).\(attempt)" }
}
