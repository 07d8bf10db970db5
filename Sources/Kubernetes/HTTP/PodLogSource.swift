import Foundation

/// Where the HTTP layer reads container logs from; implemented by the part of the
/// adapter that knows which task runs a pod's container.
public protocol PodLogSource: Sendable {
    /// The container's stdout+stderr (as kubectl shows it), from byte `offset`; nil when the
    /// pod has no running or finished task yet. `finished` is true once no more output can come.
    func logs(namespace: String, pod: String, container: String?, offset: Int) async throws(APIError) -> (data: Data, finished: Bool)?
}
