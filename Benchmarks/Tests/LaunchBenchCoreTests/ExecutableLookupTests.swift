import LaunchBenchCore
import Testing

@Suite struct ExecutableLookupTests {
    @Test func searchesThePathInOrder() {
        let present: Set = ["/usr/bin/true", "/bin/true"]
        let found = ExecutableLookup.resolve("true", searchPath: "/usr/local/bin::/usr/bin/:/bin", isExecutable: present.contains)
        #expect(found == "/usr/bin/true")
        #expect(ExecutableLookup.resolve("false", searchPath: "/usr/bin:/bin", isExecutable: present.contains) == nil)
    }

    @Test func takesAPathAsItIs() {
        #expect(ExecutableLookup.resolve("/bin/true", searchPath: "/nowhere", isExecutable: { $0 == "/bin/true" }) == "/bin/true")
        #expect(ExecutableLookup.resolve("./missing", searchPath: "/bin", isExecutable: { _ in false }) == nil)
    }
}
