import Foundation

/// A Marathon task id: `<app safe name>.instance-<uuid>._app.<attempt>` (Marathon 1.10),
/// or the legacy `<app safe name>.<uuid>`.
///
/// The app id is recovered from the safe name (`group_app` → `/group/app`).
public struct MarathonTaskID: Sendable, Hashable, CustomStringConvertible {
    public let appID: PathID
    /// The instance's UUID text.
    public let uuid: String
    /// The launch attempt of the instance; `nil` for a legacy id.
    public let attempt: Int?

    public init(appID: PathID, uuid: String, attempt: Int? = 1) {
        self.appID = appID
        self.uuid = uuid
        self.attempt = attempt
    }

    /// Reads either form; `nil` for anything else.
    public init?(parsing text: String) {
        if let appMarker = text.range(of: "._app.", options: .backwards),
           let attempt = Int(text[appMarker.upperBound...]),
           let instanceMarker = text[..<appMarker.lowerBound].range(of: ".instance-", options: .backwards) {
            let safeName = text[..<instanceMarker.lowerBound]
            let uuid = text[instanceMarker.upperBound..<appMarker.lowerBound]
            guard !safeName.isEmpty, !uuid.isEmpty else { return nil }
            self.init(appID: PathID(safeName: String(safeName)), uuid: String(uuid), attempt: attempt)
        } else if let dot = text.lastIndex(of: ".") {
            let safeName = text[..<dot], uuid = text[text.index(after: dot)...]
            guard !safeName.isEmpty, !uuid.isEmpty else { return nil }
            self.init(appID: PathID(safeName: String(safeName)), uuid: String(uuid), attempt: nil)
        } else {
            return nil
        }
    }

    /// The instance id, `<safe name>.instance-<uuid>` (the legacy form has none and uses the task id).
    public var instanceID: String {
        attempt == nil ? description : "\(appID.safeName).instance-\(uuid)"
    }

    public var description: String {
        guard let attempt else { return "\(appID.safeName).\(uuid)" }
        return "\(appID.safeName).instance-\(uuid)._app.\(attempt)"
    }
}
