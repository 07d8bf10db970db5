import Testing
@testable import Kubernetes

@Suite struct APIQuantityTests {
    @Test(arguments: [
        ("500m", 0.5), ("0.5", 0.5), ("2", 2), ("100m", 0.1), ("1e3", 1000), ("1.5k", 1500),
    ] as [(String, Double)])
    func cpu(text: String, cores: Double) throws {
        #expect(abs(try Quantity(parsing: text).cores - cores) < 1e-9)
    }

    @Test(arguments: [
        ("64Mi", 64), ("1Gi", 1024), ("128974848", 123), ("1G", 953.67431640625), ("512Ki", 0.5), ("1M", 0.95367431640625),
    ] as [(String, Double)])
    func memory(text: String, megabytes: Double) throws {
        #expect(abs(try Quantity(parsing: text).megabytes - megabytes) < 1e-6)
    }

    @Test func jsonNumbersAreQuantities() throws {
        #expect(try Quantity(JSONValue.int(2)).cores == 2)
        #expect(try Quantity(JSONValue.double(0.25)).cores == 0.25)
    }

    @Test(arguments: ["", "abc", "5Xi", "-1", "1.2.3", "m"])
    func invalidQuantitiesAreRejected(text: String) {
        let error = #expect(throws: APIError.self) { try Quantity(parsing: text) }
        #expect(error?.message.contains("\"\(text)\"") == true)
    }
}
