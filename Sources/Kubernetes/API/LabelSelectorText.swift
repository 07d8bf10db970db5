/// Writes a `LabelSelector` object in the query-string syntax (`app=web,tier in (a,b)`),
/// as `Scale.status.selector` and kubectl's SELECTOR column show it.
public enum LabelSelectorText {
    public static func format(_ selector: JSONValue?) -> String {
        var terms: [String] = []
        for (key, value) in (selector?["matchLabels"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            terms.append("\(key)=\(value.selectorString ?? "")")
        }
        for expression in selector?["matchExpressions"]?.arrayValue ?? [] {
            let key = expression["key"]?.stringValue ?? ""
            let values = (expression["values"]?.arrayValue ?? []).compactMap(\.stringValue).sorted().joined(separator: ",")
            switch expression["operator"]?.stringValue {
            case "In": terms.append("\(key) in (\(values))")
            case "NotIn": terms.append("\(key) notin (\(values))")
            case "Exists": terms.append(key)
            case "DoesNotExist": terms.append("!\(key)")
            default: continue
            }
        }
        return terms.joined(separator: ",")
    }
}
