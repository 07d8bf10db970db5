import AgoraProto
import Resources
import Testing

struct ResourcesProtoTests {
    @Test func reservedResourcesUseReservations() throws {
        let resources = try Resources(parsing: "cpus(ops):2;mem:64;ports:[31000-31005];zones:{a}")
        let proto = resources.proto
        let cpus = try #require(proto.first { $0.name == "cpus" })
        #expect(cpus.type == .scalar)
        #expect(cpus.reservations.last?.role == "ops")
        #expect(cpus.reservations.last?.type == .static)
        #expect(!cpus.hasRole)
        #expect(try Resources(proto: proto) == resources)
    }

    @Test func deprecatedRoleFieldIsRead() throws {
        var message = Agora_V1_Resource()
        message.name = "mem"
        message.type = .scalar
        message.scalar.value = 32
        message.role = "dev"
        #expect(try Resources(proto: [message]) == (try Resources(parsing: "mem(dev):32")))
    }

    @Test func invalidProtosAreRefusedWithTheirName() {
        var negative = Agora_V1_Resource()
        negative.name = "cpus"
        negative.type = .scalar
        negative.scalar.value = -1
        var backwards = Agora_V1_Resource()
        backwards.name = "ports"
        backwards.type = .ranges
        backwards.ranges.range = [Agora_V1_Value.Range.with { $0.begin = 9; $0.end = 1 }]
        var missing = Agora_V1_Resource()
        missing.name = "disk"
        missing.type = .scalar
        for (message, expected) in [(negative, "cpus"), (backwards, "ports"), (missing, "disk")] {
            let error = #expect(throws: ResourceConversionError.self) { try Resources(proto: [message]) }
            #expect(error?.name == expected)
        }
    }
}
