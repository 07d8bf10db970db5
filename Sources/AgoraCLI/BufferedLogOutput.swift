import Foundation
import Glibc
import Logging
import Synchronization

/// Standard error for log lines, written in batches: a line is written within
/// `BufferedLogOutput.flushInterval` by a background thread, at once when it is a
/// notice or worse (with every line before it), and when the process exits.
///
/// A master handling 10,000 agent re-registrations logs 10,000 lines; written one
/// `write(2)` each, they took a tenth of its actor's time. Like glog's buffered
/// INFO logs, what a `kill -9` can lose is the last fraction of a second of info lines.
final class BufferedLogOutput: TextOutputStream, Sendable {
    /// The process's log output (standard error).
    static let standardError = BufferedLogOutput(fileDescriptor: STDERR_FILENO)

    /// How long an info line may wait in the buffer.
    static let flushInterval: TimeInterval = 0.1
    /// Past this many bytes waiting, the line's writer flushes at once.
    static let largestBuffer = 64 * 1_024

    private let fileDescriptor: Int32
    private let pending = Mutex<[UInt8]>([])
    /// Held while a batch is written, so batches reach the file in the order they were taken.
    private let writing = Mutex<Void>(())

    private init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: Self.flushInterval)
                flush()
            }
        }
        thread.name = "agora-log-flush"
        thread.start()
        atexit { BufferedLogOutput.standardError.flush() }
    }

    func write(_ string: String) {
        let size = pending.withLock { buffer in
            buffer.append(contentsOf: string.utf8)
            return buffer.count
        }
        if size >= Self.largestBuffer { flush() }
    }

    /// Writes everything buffered so far.
    func flush() {
        writing.withLock { _ in
            // Taken whole (the next lines start a new buffer): most flushes find nothing.
            let batch = pending.withLock { buffer in
                defer { buffer = [] }
                return buffer
            }
            guard !batch.isEmpty else { return }
            batch.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return  // nowhere to report it: the log itself is what failed
                    }
                    offset += written
                }
            }
        }
    }
}

/// Formats lines as `StreamLogHandler` does, into `BufferedLogOutput.standardError`;
/// a notice or worse flushes the buffer.
struct BufferedLogHandler: LogHandler {
    private var formatter: StreamLogHandler

    init(label: String) {
        formatter = StreamLogHandler(label: label, stream: BufferedLogOutput.standardError)
    }

    func log(event: LogEvent) {
        formatter.log(event: event)
        if event.level >= .notice { BufferedLogOutput.standardError.flush() }
    }

    var logLevel: Logger.Level {
        get { formatter.logLevel }
        set { formatter.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { formatter.metadata }
        set { formatter.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { formatter.metadataProvider }
        set { formatter.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { formatter[metadataKey: key] }
        set { formatter[metadataKey: key] = newValue }
    }
}
