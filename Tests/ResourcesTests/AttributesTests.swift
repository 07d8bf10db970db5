import Resources
import Testing

struct AttributesTests {
    @Test func parsesEveryValueKind() throws {
        let attributes = try Attributes(parsing: "rack:r1;zone:a;level:3;slots:[1-2];tags:{x,y}")
        #expect(attributes["rack"]?.value == .text("r1"))
        #expect(attributes["level"]?.value == .scalar(Scalar(3)))
        #expect(attributes["slots"]?.value == .ranges(RangeSet([1...2])))
        #expect(attributes["tags"]?.value == .set(["x", "y"]))
        #expect(attributes.description == "rack:r1;zone:a;level:3;slots:[1-2];tags:{x,y}")
        #expect(try Attributes(proto: attributes.proto) == attributes)
    }

    @Test func repeatedNameIsAnError() {
        let error = #expect(throws: ResourceParseError.self) { try Attributes(parsing: "rack:r1;rack:r2") }
        #expect(error?.position == 8)
        #expect(error?.reason.contains("given twice") == true)
    }
}
