import Foundation

/// Text formatting shared by the `agora app` commands, with no I/O.
enum AppFormat {
    /// `2048.0` → `2048`, `0.25` → `0.25`.
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Cuts `text` to `limit` characters, ending in `…` when it was longer; newlines become spaces.
    static func truncated(_ text: String, to limit: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        guard flat.count > limit, limit > 1 else { return flat }
        return String(flat.prefix(limit - 1)) + "…"
    }

    /// A deployment or task id shortened for one-line displays: the first 8 characters and `…`.
    static func shortID(_ id: String) -> String {
        id.count > 9 ? String(id.prefix(8)) + "…" : id
    }

    /// Parses Marathon's timestamps (`2024-05-01T12:00:03.123Z`, also without fractions).
    static func date(_ text: String) -> Date? {
        let withFractions = ISO8601DateFormatter()
        withFractions.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFractions.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }

    /// How long ago `timestamp` was, relative to `now`: `42s ago`, `5m ago`, `3h ago`, `2d ago`;
    /// the timestamp itself when it does not parse, `-` when absent.
    static func age(_ timestamp: String?, now: Date) -> String {
        guard let timestamp, !timestamp.isEmpty else { return "-" }
        guard let date = date(timestamp) else { return timestamp }
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        if seconds < 60 { return "\(seconds)s ago" }
        if seconds < 3_600 { return "\(seconds / 60)m ago" }
        if seconds < 86_400 { return "\(seconds / 3_600)h ago" }
        return "\(seconds / 86_400)d ago"
    }

    /// `1 instance`, `3 instances`.
    static func count(_ value: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(value) " + (value == 1 ? singular : plural ?? singular + "s")
    }

    /// Task states are terminal when the task will never run again.
    static func isTerminal(taskState: String) -> Bool {
        ["TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED",
         "TASK_GONE", "TASK_GONE_BY_OPERATOR"].contains(taskState.uppercased())
    }
}
