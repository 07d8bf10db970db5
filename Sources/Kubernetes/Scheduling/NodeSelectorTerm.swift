/// One term of a pod's required node affinity: every expression must hold.
///
/// Terms of `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` are
/// alternatives: a node qualifies when any one of them matches.
public struct NodeSelectorTerm: Hashable, Sendable {
    /// One requirement on a node label.
    public struct Requirement: Hashable, Sendable {
        public enum Operator: String, Hashable, Sendable {
            case `in` = "In", notIn = "NotIn", exists = "Exists", doesNotExist = "DoesNotExist", gt = "Gt", lt = "Lt"
        }

        public var key: String
        public var `operator`: Operator
        public var values: [String]

        public init(key: String, operator: Operator, values: [String] = []) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }

        /// Kubernetes' semantics: NotIn and DoesNotExist hold for a node without the
        /// label; Gt and Lt compare whole numbers.
        public func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch `operator` {
            case .in: return value.map(values.contains) ?? false
            case .notIn: return value.map { !values.contains($0) } ?? true
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            case .gt, .lt:
                guard let value, let number = Int64(value), let bound = values.first.flatMap({ Int64($0) }) else { return false }
                return `operator` == .gt ? number > bound : number < bound
            }
        }
    }

    public var requirements: [Requirement]

    public init(requirements: [Requirement]) {
        self.requirements = requirements
    }

    /// Whether every requirement holds. An empty term matches nothing, as in Kubernetes.
    public func matches(_ labels: [String: String]) -> Bool {
        !requirements.isEmpty && requirements.allSatisfy { $0.matches(labels) }
    }

    /// Reads a `NodeSelectorTerm` object (`matchExpressions`; `matchFields` on
    /// `metadata.name` is read as a requirement on the `kubernetes.io/hostname` label).
    init(json: JSONValue, path: String) throws(PodSpecError) {
        var requirements: [Requirement] = []
        for (field, key) in [("matchExpressions", nil as String?), ("matchFields", "kubernetes.io/hostname")] {
            for (index, expression) in (json[field]?.arrayValue ?? []).enumerated() {
                let here = "\(path).\(field)[\(index)]"
                guard let labelKey = key ?? expression["key"]?.stringValue, !labelKey.isEmpty else {
                    throw PodSpecError("\(here).key is missing")
                }
                guard let text = expression["operator"]?.stringValue, let op = Requirement.Operator(rawValue: text) else {
                    throw PodSpecError("\(here).operator must be one of In, NotIn, Exists, DoesNotExist, Gt, Lt")
                }
                let values = (expression["values"]?.arrayValue ?? []).compactMap(\.stringValue)
                switch op {
                case .in, .notIn:
                    if values.isEmpty { throw PodSpecError("\(here).values must not be empty for \(text)") }
                case .exists, .doesNotExist:
                    if !values.isEmpty { throw PodSpecError("\(here).values must be empty for \(text)") }
                case .gt, .lt:
                    if values.count != 1 || Int64(values[0]) == nil {
                        throw PodSpecError("\(here).values must be one whole number for \(text)")
                    }
                }
                requirements.append(Requirement(key: labelKey, operator: op, values: values))
            }
        }
        self.requirements = requirements
    }
}
