/// The checks the API server makes on objects before storing them, producing the
/// field paths and messages kubectl prints (`spec.containers[0].name: Required value`).
public enum ObjectValidation {
    /// Problems with `object` as a `type`; empty when it is valid.
    public static func problems(_ type: ResourceType, _ object: JSONValue) -> [(field: String, message: String)] {
        var problems: [(field: String, message: String)] = []
        let name = object.name
        if name.isEmpty {
            problems.append(("metadata.name", "Required value: name or generateName is required"))
        } else if let why = dns1123SubdomainProblem(name) {
            problems.append(("metadata.name", "Invalid value: \"\(name)\": \(why)"))
        }
        problems += labelProblems(object[path: ["metadata", "labels"]], field: "metadata.labels")
        switch type {
        case .pods:
            problems += podSpecProblems(object["spec"], field: "spec")
        case .deployments, .replicaSets:
            problems += workloadProblems(object, isDeployment: type == .deployments)
        default:
            break
        }
        return problems
    }

    /// Why `name` is not a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.',
    /// starting and ending alphanumeric, at most 253 characters), or nil when it is one.
    public static func dns1123SubdomainProblem(_ name: String) -> String? {
        let message = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            + "and must start and end with an alphanumeric character (e.g. 'example.com')"
        guard name.count <= 253 else { return "must be no more than 253 characters" }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard isDNS1123Label(label) else { return message }
        }
        return nil
    }

    /// Why `name` is not a DNS-1123 label (at most 63 characters, no dots), or nil.
    public static func dns1123LabelProblem(_ name: String) -> String? {
        guard name.count <= 63 else { return "must be no more than 63 characters" }
        guard isDNS1123Label(name[...]) else {
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                + "and must start and end with an alphanumeric character (e.g. 'my-name')"
        }
        return nil
    }

    private static func isDNS1123Label(_ label: Substring) -> Bool {
        guard let first = label.first, let last = label.last else { return false }
        func alphanumeric(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }
        return alphanumeric(first) && alphanumeric(last) && label.allSatisfy { alphanumeric($0) || $0 == "-" }
    }

    private static func labelProblems(_ labels: JSONValue?, field: String) -> [(field: String, message: String)] {
        guard let labels, labels != .null else { return [] }
        guard let members = labels.objectValue else { return [(field, "Invalid value: must be an object")] }
        var problems: [(field: String, message: String)] = []
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            guard let text = value.stringValue else {
                problems.append(("\(field).\(key)", "Invalid value: label values must be strings"))
                continue
            }
            let valid = text.count <= 63 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
                && (text.isEmpty || (text.first!.isLetter || text.first!.isNumber) && (text.last!.isLetter || text.last!.isNumber))
            if !valid {
                problems.append(("\(field)", "Invalid value: \"\(text)\": a valid label must be an empty string or consist of "
                    + "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"))
            }
        }
        return problems
    }

    static func podSpecProblems(_ spec: JSONValue?, field: String) -> [(field: String, message: String)] {
        guard let spec, spec != .null else { return [(field, "Required value")] }
        var problems: [(field: String, message: String)] = []
        let containers = spec["containers"]?.arrayValue ?? []
        if containers.isEmpty { problems.append(("\(field).containers", "Required value")) }
        for list in ["initContainers", "containers"] {
            var seen = Set<String>()
            for (index, container) in (spec[list]?.arrayValue ?? []).enumerated() {
                let path = "\(field).\(list)[\(index)]"
                let name = container["name"]?.stringValue ?? ""
                if name.isEmpty {
                    problems.append(("\(path).name", "Required value"))
                } else if let why = dns1123LabelProblem(name) {
                    problems.append(("\(path).name", "Invalid value: \"\(name)\": \(why)"))
                } else if !seen.insert(name).inserted {
                    problems.append(("\(path).name", "Duplicate value: \"\(name)\""))
                }
                if (container["image"]?.stringValue ?? "").isEmpty {
                    problems.append(("\(path).image", "Required value"))
                }
                for (portIndex, port) in (container["ports"]?.arrayValue ?? []).enumerated() {
                    let number = port["containerPort"]?.intValue ?? 0
                    if !(1...65535).contains(number) {
                        problems.append(("\(path).ports[\(portIndex)].containerPort",
                                         "Invalid value: \(number): must be between 1 and 65535, inclusive"))
                    }
                }
            }
        }
        if let policy = spec["restartPolicy"]?.stringValue, !["Always", "OnFailure", "Never"].contains(policy) {
            problems.append(("\(field).restartPolicy",
                             "Unsupported value: \"\(policy)\": supported values: \"Always\", \"OnFailure\", \"Never\""))
        }
        return problems
    }

    private static func workloadProblems(_ object: JSONValue, isDeployment: Bool) -> [(field: String, message: String)] {
        var problems: [(field: String, message: String)] = []
        guard let spec = object["spec"], spec != .null else { return [("spec", "Required value")] }
        if let replicas = spec["replicas"], replicas != .null {
            if let count = replicas.intValue {
                if count < 0 {
                    problems.append(("spec.replicas", "Invalid value: \(count): must be greater than or equal to 0"))
                }
            } else {
                problems.append(("spec.replicas", "Invalid value: must be an integer"))
            }
        }
        let selector = spec["selector"]
        let hasSelector = !(selector?["matchLabels"]?.objectValue ?? [:]).isEmpty
            || !(selector?["matchExpressions"]?.arrayValue ?? []).isEmpty
        if !hasSelector {
            problems.append(("spec.selector", "Required value"))
        }
        let templateLabels = spec[path: ["template", "metadata", "labels"]]?.objectValue?.compactMapValues(\.stringValue) ?? [:]
        if hasSelector, !LabelSelector(matchLabels: selector).matches(templateLabels) {
            problems.append(("spec.template.metadata.labels",
                             "Invalid value: \(JSONValue.object(templateLabels.mapValues { .string($0) }).encodedString): "
                                + "`selector` does not match template `labels`"))
        }
        problems += podSpecProblems(spec[path: ["template", "spec"]], field: "spec.template.spec")
        if isDeployment, let strategy = spec[path: ["strategy", "type"]]?.stringValue,
           !["RollingUpdate", "Recreate"].contains(strategy) {
            problems.append(("spec.strategy.type",
                             "Unsupported value: \"\(strategy)\": supported values: \"Recreate\", \"RollingUpdate\""))
        }
        return problems
    }
}

extension JSONValue {
    /// The compact JSON text of the value.
    var encodedString: String { String(decoding: encoded(), as: UTF8.self) }
}
