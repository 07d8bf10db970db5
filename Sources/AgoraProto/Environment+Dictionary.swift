extension Agora_V1_Environment {
    /// The variables `values`, in name order (so equal dictionaries give equal messages).
    public init(_ values: [String: String]) {
        self.init()
        variables = values.sorted { $0.key < $1.key }.map { name, value in
            var variable = Agora_V1_Environment.Variable()
            variable.name = name
            variable.value = value
            return variable
        }
    }

    /// The variables by name; unnamed ones are skipped and a later duplicate wins.
    public var dictionary: [String: String] {
        var values: [String: String] = [:]
        for variable in variables where !variable.name.isEmpty {
            values[variable.name] = variable.value
        }
        return values
    }
}
