/// Finding a program the way a shell does, with the file system check injected.
public enum ExecutableLookup {
    /// `name` itself when it contains a `/`; otherwise the first `DIR/name` over the
    /// `:`-separated `searchPath` that `isExecutable` accepts. Nil when none does.
    public static func resolve(_ name: String, searchPath: String, isExecutable: (String) -> Bool) -> String? {
        if name.contains("/") { return isExecutable(name) ? name : nil }
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)"
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }
}
