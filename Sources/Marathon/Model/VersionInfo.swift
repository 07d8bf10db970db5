/// When an app last changed (`versionInfo`): any change, and changes beyond scaling.
public struct VersionInfo: Sendable, Hashable, Codable {
    public var lastScalingAt: MarathonTimestamp
    public var lastConfigChangeAt: MarathonTimestamp

    public init(lastScalingAt: MarathonTimestamp, lastConfigChangeAt: MarathonTimestamp) {
        self.lastScalingAt = lastScalingAt
        self.lastConfigChangeAt = lastConfigChangeAt
    }

    var json: MarathonJSON {
        .object([
            "lastScalingAt": .string(lastScalingAt.description),
            "lastConfigChangeAt": .string(lastConfigChangeAt.description),
        ])
    }
}
