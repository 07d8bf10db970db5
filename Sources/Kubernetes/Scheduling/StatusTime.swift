import Foundation

/// Timestamps in objects, as the store writes them (RFC 3339, UTC, whole seconds).
enum StatusTime {
    static func json(_ date: Date) -> JSONValue { .string(ObjectStore.timestamp(date)) }

    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        return try? Date(text, strategy: .iso8601)
    }
}
