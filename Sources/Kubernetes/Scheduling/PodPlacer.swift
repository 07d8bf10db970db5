import Framework
import Resources

/// An offer seen as a Kubernetes node: the agent's hostname as the node name and its labels.
public struct NodeOffer: Sendable {
    public var nodeName: String
    public var labels: [String: String]
    /// The offer, with what earlier placements took already taken out.
    public var offer: OfferResources

    public init(nodeName: String, labels: [String: String], offer: OfferResources) {
        self.nodeName = nodeName
        self.labels = labels
        self.offer = offer
    }

    /// The node of an offer: its hostname and the labels `NodeLabels` derives.
    public init(_ offer: OfferResources) {
        self.init(nodeName: offer.hostname, labels: NodeLabels.labels(hostname: offer.hostname, attributes: offer.attributes),
                  offer: offer)
    }
}

/// Chooses nodes for pods from the offers at hand, several pods per offer, and says
/// in kube-scheduler's words why a pod fits nowhere. Pure: no I/O, deterministic.
public enum PodPlacer {
    /// A pod placed on a node.
    public struct Placement: Hashable, Sendable {
        /// The pod's index in the requirements given.
        public let podIndex: Int
        /// The node's index in the offers given.
        public let nodeIndex: Int
    }

    public struct Outcome: Sendable {
        /// In the order the pods were given.
        public var placements: [Placement]
        /// Why each pod not placed fits nowhere, by pod index:
        /// `0/2 nodes are available: 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector.`
        public var failures: [Int: String]
        /// The offers with the placed pods' resources taken out.
        public var nodes: [NodeOffer]
    }

    static let nodeNameMismatch = "node(s) didn't match the requested node name"
    static let affinityMismatch = "node(s) didn't match Pod's node affinity/selector"
    static let portsTaken = "node(s) didn't have free ports for the requested pod ports"

    /// Places `pods` in order. Each goes to the feasible node that keeps the most free
    /// afterwards (cpu and memory, each as a share of the node's offer), which spreads
    /// pods over the nodes like kube-scheduler's LeastAllocated score; ties go to the
    /// earlier node.
    public static func place(_ pods: [PodRequirements], on nodes: [NodeOffer]) -> Outcome {
        var nodes = nodes
        var placements: [Placement] = []
        var failures: [Int: String] = [:]
        for (podIndex, pod) in pods.enumerated() {
            let request = pod.resourceRequest
            var best: (index: Int, score: Double)?
            var reasons: [String: Int] = [:]
            for (nodeIndex, node) in nodes.enumerated() {
                let found = unfitReasons(pod, request: request, node: node)
                guard found.isEmpty else {
                    for reason in found { reasons[reason, default: 0] += 1 }
                    continue
                }
                let score = leftoverScore(node.offer, request: request)
                if best == nil || score > best!.score { best = (nodeIndex, score) }
            }
            if let best, nodes[best.index].offer.take(request) != nil {
                placements.append(Placement(podIndex: podIndex, nodeIndex: best.index))
            } else {
                failures[podIndex] = message(nodeCount: nodes.count, reasons: reasons)
            }
        }
        return Outcome(placements: placements, failures: failures, nodes: nodes)
    }

    /// Why `node` cannot take `pod`, checked in kube-scheduler's filter order: node
    /// name, then selector and affinity, then host ports, then cpu and memory.
    static func unfitReasons(_ pod: PodRequirements, request: ResourceRequest, node: NodeOffer) -> [String] {
        guard pod.matchesNodeName(node.nodeName) else { return [nodeNameMismatch] }
        guard pod.matchesSelectorAndAffinity(node.labels) else { return [affinityMismatch] }
        var reasons: [String] = []
        for rejection in node.offer.shortfalls(for: request) {
            switch rejection {
            case .portsUnavailable, .insufficientPorts:
                return [portsTaken]
            case .insufficient(let resource, _, _):
                reasons.append(resource == "mem" ? "Insufficient memory" : resource == "cpus" ? "Insufficient cpu" : "Insufficient \(resource)")
            case .constraint:
                break
            }
        }
        return reasons
    }

    /// kube-scheduler's FitError text: counts per reason, sorted as text.
    static func message(nodeCount: Int, reasons: [String: Int]) -> String {
        guard nodeCount > 0 else { return "0/0 nodes are available: no agent has offered resources." }
        let parts = reasons.map { "\($0.value) \($0.key)" }.sorted()
        return "0/\(nodeCount) nodes are available: " + parts.joined(separator: ", ") + "."
    }

    private static func leftoverScore(_ offer: OfferResources, request: ResourceRequest) -> Double {
        let cpuTotal = offer.total.cpus.doubleValue, memTotal = offer.total.mem.doubleValue
        let cpuLeft = offer.remaining.cpus.doubleValue - request.cpus.doubleValue
        let memLeft = offer.remaining.mem.doubleValue - request.mem.doubleValue
        return (cpuTotal > 0 ? cpuLeft / cpuTotal : 0) + (memTotal > 0 ? memLeft / memTotal : 0)
    }
}
