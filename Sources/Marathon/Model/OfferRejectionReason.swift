import Framework

/// Why an offer could not launch an instance, with Marathon's names (`/v2/queue`'s
/// `processedOffersSummary`) and a sentence for a person (`agora app why`).
///
/// `allCases` is in the order offers are checked, which is the order of the funnel
/// that `ProcessedOffersSummaryJSON.funnel` builds.
public enum OfferRejectionReason: String, Sendable, Hashable, Codable, CaseIterable {
    case unfulfilledRole = "UnfulfilledRole"
    case unfulfilledConstraint = "UnfulfilledConstraint"
    case noCorrespondingReservationFound = "NoCorrespondingReservationFound"
    case agentMaintenance = "AgentMaintenance"
    case insufficientCpus = "InsufficientCpus"
    case insufficientMemory = "InsufficientMemory"
    case insufficientDisk = "InsufficientDisk"
    case insufficientGpus = "InsufficientGpus"
    case insufficientPorts = "InsufficientPorts"
    case declinedScarceResources = "DeclinedScarceResources"

    /// What the reason means, in words.
    public var sentence: String {
        switch self {
        case .unfulfilledRole: "The offer's resources belong to a role the app does not accept."
        case .unfulfilledConstraint: "The agent does not satisfy the app's placement constraints."
        case .noCorrespondingReservationFound: "The offer has no reservation matching the app's resident instance."
        case .agentMaintenance: "The agent is scheduled for maintenance."
        case .insufficientCpus: "The offer has too few cpus for one instance."
        case .insufficientMemory: "The offer has too little memory for one instance."
        case .insufficientDisk: "The offer has too little disk for one instance."
        case .insufficientGpus: "The offer has too few gpus for one instance."
        case .insufficientPorts: "The offer lacks free ports the instance needs (or the exact ports of requirePorts)."
        case .declinedScarceResources: "The offer has gpus, which are kept for apps that ask for them."
        }
    }

    /// The reason for a rejection by the Framework SDK's offer matching.
    public init(_ rejection: Rejection) {
        switch rejection {
        case .insufficient(let resource, _, _):
            let name = resource.split(separator: "(").first.map(String.init) ?? resource
            switch name {
            case "cpus": self = .insufficientCpus
            case "mem": self = .insufficientMemory
            case "disk": self = .insufficientDisk
            case "gpus": self = .insufficientGpus
            default: self = .unfulfilledRole
            }
        case .insufficientPorts, .portsUnavailable: self = .insufficientPorts
        case .constraint: self = .unfulfilledConstraint
        }
    }
}
