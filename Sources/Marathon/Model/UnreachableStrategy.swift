/// What happens to an instance whose agent became unreachable (`unreachableStrategy`):
/// `"disabled"`, or replace it after `inactiveAfterSeconds` and expunge it after
/// `expungeAfterSeconds`. Marathon 1.10's default is `{0, 0}`.
public enum UnreachableStrategy: Sendable, Hashable {
    case disabled
    case enabled(inactiveAfterSeconds: Int, expungeAfterSeconds: Int)

    /// Marathon 1.10's default, `{"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}`.
    public static let `default` = UnreachableStrategy.enabled(inactiveAfterSeconds: 0, expungeAfterSeconds: 0)

    var json: MarathonJSON {
        switch self {
        case .disabled: .string("disabled")
        case let .enabled(inactive, expunge):
            .object([
                "inactiveAfterSeconds": .number(Double(inactive)),
                "expungeAfterSeconds": .number(Double(expunge)),
            ])
        }
    }

    static func read(_ value: MarathonJSON?, _ path: String, _ reader: inout JSONReader) -> UnreachableStrategy? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?:
            guard text == "disabled" else {
                reader.ruleError(path, "must be \"disabled\" or an object {inactiveAfterSeconds, expungeAfterSeconds}")
                return nil
            }
            return .disabled
        default:
            guard let members = reader.object(value, path) else { return nil }
            return .enabled(
                inactiveAfterSeconds: reader.int(members["inactiveAfterSeconds"], "\(path)/inactiveAfterSeconds") ?? 0,
                expungeAfterSeconds: reader.int(members["expungeAfterSeconds"], "\(path)/expungeAfterSeconds") ?? 0)
        }
    }
}
