import Foundation
import Testing

/// The `agora` executable, run as a separate process.
@Suite(.timeLimit(.minutes(1)))
struct CLITests {
    @Test func versionAndHelp() throws {
        let version = try AgoraBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)

        let help = try AgoraBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("doctor"))
        #expect(help.stdout.contains("resource-offer cluster manager"))
    }

    @Test func doctorReportsThisHostAsJSON() throws {
        let workDir = FileManager.default.temporaryDirectory.path
        let result = try AgoraBinary.run(["doctor", "--work-dir", workDir, "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let resources = try #require(object["resources"] as? String)
        #expect(resources.contains("cpus:"))
        #expect(resources.contains("ports:[31000-32000]"))
        #expect((object["messaging_round_trip_ok"] as? Bool) == true)
        #expect(object["libzmq"] is String)
    }

    @Test func doctorAppliesResourceOverrides() throws {
        let result = try AgoraBinary.run(["doctor", "--resources", "cpus:2;mem:1024;ports:[40000-40010]", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let resources = try #require(object["resources"] as? String)
        #expect(resources.contains("cpus:2"))
        #expect(resources.contains("mem:1024"))
        #expect(resources.contains("ports:[40000-40010]"))
    }

    @Test func badResourceStringIsAClearError() throws {
        let result = try AgoraBinary.run(["doctor", "--resources", "cpus:4;mem:lots"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("mem:lots"))
        #expect(result.stderr.contains("position"))
    }

    @Test func unknownSubcommandIsAClearError() throws {
        let result = try AgoraBinary.run(["frobnicate"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("frobnicate"))
    }
}
