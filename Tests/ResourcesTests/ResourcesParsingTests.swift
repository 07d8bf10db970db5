import Resources
import Testing

struct ResourcesParsingTests {
    @Test(arguments: [
        ("cpus:4;mem:8192;disk:20000;ports:[31000-32000,33000-33010];gpus:0",
         "cpus:4;mem:8192;disk:20000;ports:[31000-32000,33000-33010]"),
        ("cpus(ops):2;cpus:1", "cpus:1;cpus(ops):2"),
        (" mem : 512 ; cpus:0.5 ", "cpus:0.5;mem:512"),
        ("cpus:1;cpus:2", "cpus:3"),
        ("ports:[1-2,3-4,10-10]", "ports:[1-4,10-10]"),
        ("zones:{b,a};cpus:1;", "cpus:1;zones:{a,b}"),
        ("cpus(eng/web):1", "cpus(eng/web):1"),
        ("", ""),
    ])
    func validStringsPrintCanonically(input: String, canonical: String) throws {
        let resources = try Resources(parsing: input)
        #expect(resources.description == canonical)
        #expect(try Resources(parsing: resources.description) == resources)
    }

    @Test(arguments: [
        ("cpus:4;mem:lots", "mem:lots", 7, "is not a number"),
        ("cpus", "cpus", 0, "expected NAME:VALUE"),
        ("cpus:1; :2", ":2", 8, "name is empty"),
        ("cpus:-1", "cpus:-1", 0, "is negative"),
        ("cpus:nan", "cpus:nan", 0, "is not a number"),
        ("cpus:inf", "cpus:inf", 0, "is not a number"),
        ("cpus:1e400", "cpus:1e400", 0, "not a finite number"),
        ("ports:[5-3]", "ports:[5-3]", 0, "ends before it begins"),
        ("ports:[a-b]", "ports:[a-b]", 0, "is not a range"),
        ("ports:[1-2", "ports:[1-2", 0, "closing \"]\""),
        ("ports:31000-32000", "ports:31000-32000", 0, "is not a number"),
        ("zones:{a,b", "zones:{a,b", 0, "closing \"}\""),
        ("cpus(..):1", "cpus(..):1", 0, "invalid role"),
        ("cpus(-x):1", "cpus(-x):1", 0, "invalid role"),
        ("cpus():1", "cpus():1", 0, "invalid role"),
        ("cpus(ops:1", "cpus(ops:1", 0, "closing \")\""),
        ("cpus:1;cpus:[1-2]", "cpus:[1-2]", 7, "appears both"),
        ("cpus:", "cpus:", 0, "value is empty"),
    ])
    func invalidStringsNameTokenAndPosition(input: String, token: String, position: Int, reason: String) {
        #expect {
            try Resources(parsing: input)
        } throws: { error in
            guard let error = error as? ResourceParseError else { return false }
            return error.token == token && error.position == position && error.reason.contains(reason)
                && error.description.contains("position \(position)")
        }
    }

    @Test func accessorsSumAcrossRoles() throws {
        let resources = try Resources(parsing: "cpus:1;cpus(ops):2;mem:1024;ports:[1-2];ports(ops):[5-6]")
        #expect(resources.cpus == Scalar(3))
        #expect(resources.mem == Scalar(1024))
        #expect(resources.ports == RangeSet([1...2, 5...6]))
        #expect(resources.names == ["cpus", "mem", "ports"])
        #expect(resources.scalarTotals == ["cpus": Scalar(3), "mem": Scalar(1024)])
    }

    @Test func rolesFilterAndFlatten() throws {
        let resources = try Resources(parsing: "cpus:1;cpus(ops):2;cpus(eng):4;mem(eng/web):8")
        #expect(resources.unreserved == (try Resources(parsing: "cpus:1")))
        #expect(resources.reserved(for: "ops") == (try Resources(parsing: "cpus(ops):2")))
        #expect(resources.allocatable(to: "eng/web") == (try Resources(parsing: "cpus:1;cpus(eng):4;mem(eng/web):8")))
        #expect(resources.flattened() == (try Resources(parsing: "cpus:7;mem:8")))
    }

    @Test func containsIsRoleAware() throws {
        let agent = try Resources(parsing: "cpus:4;mem:1024")
        #expect(agent.contains(try Resources(parsing: "cpus:4")))
        #expect(!agent.contains(try Resources(parsing: "cpus(ops):1")))
        #expect(!agent.contains(try Resources(parsing: "cpus:4.001")))
    }

    @Test func exactSubtractionExplainsWhatIsMissing() throws {
        let offer = try Resources(parsing: "cpus:1;mem:128;ports:[31000-31001]")
        let error = try #require(throws: ResourcesError.self) {
            try offer.subtracting(exactly: try Resources(parsing: "cpus:2;ports:[31001-31002]"))
        }
        #expect(error.missing == (try Resources(parsing: "cpus:1;ports:[31002-31002]")))
        #expect(error.description.contains("missing cpus:1;ports:[31002-31002]"))
        #expect(try offer.subtracting(exactly: try Resources(parsing: "cpus:0.5")) == (try Resources(parsing: "cpus:0.5;mem:128;ports:[31000-31001]")))
    }
}
