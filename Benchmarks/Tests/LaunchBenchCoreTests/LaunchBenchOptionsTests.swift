import LaunchBenchCore
import Testing

@Suite struct LaunchBenchOptionsTests {
    @Test func defaultsMatchTheIssue() throws {
        let options = try LaunchBenchOptions.parse([])
        #expect(options.tasks == 1000)
        #expect(options.rounds == 3)
        #expect(options.command == "true")
        #expect(options.agoraPath == "../.build/debug/agora")
        #expect(options.isolation == nil)
    }

    @Test func readsEveryFlag() throws {
        let options = try LaunchBenchOptions.parse([
            "--tasks", "20", "--rounds", "1", "--agora", "/x/agora", "--command", "/bin/true", "--cpus", "0.02",
            "--mem", "8", "--timeout", "30", "--isolation", "posix", "--allocation-interval", "100ms",
            "--startup-samples", "0",
        ])
        #expect(options.tasks == 20)
        #expect(options.rounds == 1)
        #expect(options.agoraPath == "/x/agora")
        #expect(options.command == "/bin/true")
        #expect(options.cpusPerTask == 0.02)
        #expect(options.memPerTask == 8)
        #expect(options.timeoutSeconds == 30)
        #expect(options.isolation == "posix")
        #expect(options.allocationInterval == "100ms")
        #expect(options.startupSamples == 0)
    }

    @Test(arguments: [
        (["--tasks", "0"], LaunchBenchUsageError.invalidValue(flag: "--tasks", value: "0", expected: "a whole number above 0")),
        (["--cpus", "lots"], .invalidValue(flag: "--cpus", value: "lots", expected: "a number above 0")),
        (["--isolation", "docker"], .invalidValue(flag: "--isolation", value: "docker", expected: "cgroups or posix")),
        (["--startup-samples", "-1"], .invalidValue(flag: "--startup-samples", value: "-1", expected: "a whole number, 0 or more")),
        (["--rounds"], .missingValue(flag: "--rounds")),
        (["--fast"], .unknownFlag("--fast")),
        (["--help"], .helpRequested),
    ])
    func refusesBadInputNamingIt(arguments: [String], expected: LaunchBenchUsageError) {
        #expect(throws: expected) { try LaunchBenchOptions.parse(arguments) }
    }

    @Test func errorMessagesNameTheFlagAndValue() {
        let error = LaunchBenchUsageError.invalidValue(flag: "--tasks", value: "ten", expected: "a whole number above 0")
        #expect(error.description == "--tasks ten: expected a whole number above 0")
    }
}
