/// How a rolling restart replaces instances (`upgradeStrategy`).
///
/// At least `ceil(instances × minimumHealthCapacity)` healthy instances stay up and at
/// most `floor(instances × (1 + maximumOverCapacity))` run at once. Both are in [0, 1].
public struct UpgradeStrategy: Sendable, Hashable {
    public var minimumHealthCapacity: Double
    public var maximumOverCapacity: Double

    public init(minimumHealthCapacity: Double = 1.0, maximumOverCapacity: Double = 1.0) {
        self.minimumHealthCapacity = minimumHealthCapacity
        self.maximumOverCapacity = maximumOverCapacity
    }

    var json: MarathonJSON {
        .object([
            "minimumHealthCapacity": .number(minimumHealthCapacity),
            "maximumOverCapacity": .number(maximumOverCapacity),
        ])
    }

    static func read(_ value: MarathonJSON?, _ path: String, _ reader: inout JSONReader) -> UpgradeStrategy? {
        guard let members = reader.object(value, path) else { return nil }
        return UpgradeStrategy(
            minimumHealthCapacity: reader.double(members["minimumHealthCapacity"], "\(path)/minimumHealthCapacity") ?? 1,
            maximumOverCapacity: reader.double(members["maximumOverCapacity"], "\(path)/maximumOverCapacity") ?? 1)
    }
}
