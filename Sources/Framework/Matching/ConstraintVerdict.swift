/// A constraint's answer for one offer.
public enum ConstraintVerdict: Hashable, Sendable {
    case accepted
    /// `reason` names the constraint and what failed: `hostname UNIQUE: an instance already runs on a.example`.
    case rejected(reason: String)

    public var isAccepted: Bool { self == .accepted }
}
