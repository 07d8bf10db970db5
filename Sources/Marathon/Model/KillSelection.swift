/// Which instances go first when an app scales down (`killSelection`).
public enum KillSelection: String, Sendable, Hashable, CaseIterable {
    case youngestFirst = "YOUNGEST_FIRST"
    case oldestFirst = "OLDEST_FIRST"
}
