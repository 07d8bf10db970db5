import Resources

/// The labels of the Node that stands for an agent.
public enum NodeLabels {
    public static let hostname = "kubernetes.io/hostname"
    public static let operatingSystem = "kubernetes.io/os"

    /// `kubernetes.io/hostname`, `kubernetes.io/os=linux` (Agora agents run on Linux),
    /// and one label per agent attribute, named as the attribute (`rack: r1`), whose
    /// text is a valid label value; others (ranges, sets) are left out.
    public static func labels(hostname: String, attributes: Attributes) -> [String: String] {
        var labels: [String: String] = [:]
        for attribute in attributes where isValidKey(attribute.name) && isValidValue(attribute.valueText) {
            labels[attribute.name] = attribute.valueText
        }
        labels[Self.hostname] = hostname
        labels[operatingSystem] = "linux"
        return labels
    }

    /// A label value: at most 63 characters, alphanumerics with `-_.` inside.
    static func isValidValue(_ value: String) -> Bool {
        guard value.count <= 63 else { return false }
        guard let first = value.first, let last = value.last else { return true }
        return first.isASCIIAlphanumeric && last.isASCIIAlphanumeric
            && value.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// A label name without prefix: 1 to 63 characters like a value.
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && isValidValue(key)
    }
}

extension Character {
    var isASCIIAlphanumeric: Bool { isASCII && (isLetter || isNumber) }
}
