import Foundation
import Testing

/// Daemons write info lines in batches (`BufferedLogOutput`): the batching must not
/// hold back what a reader of the log expects to find there.
@Suite struct DaemonLogTests {
    @Test func theLogHasTheStartWhenTheDaemonIsReadyAndTheStopWhenItHasExited() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("agora-log-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let master = try DaemonProcess(["master", "--work-dir", workDir, "--ip", "127.0.0.1", "--port", "0", "--http-port", "0"],
                                       name: "log-master")
        _ = try await master.readyFields()
        #expect(master.stderr.contains("serving at"), "info lines before the ready line are written with it: \(master.stderr)")
        master.signal(SIGTERM)
        #expect(await master.waitForExit() == 0)
        #expect(master.stderr.hasSuffix("master stopped\n"), "the last info line is written at exit: \(master.stderr)")
        await master.stop()
    }
}
