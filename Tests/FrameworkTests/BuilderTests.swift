import AgoraProto
import Framework
import Resources
import Testing

struct BuilderTests {
    @Test func commandTaskCarriesItsResourcesAndAgent() throws {
        let resources = try Resources(parsing: "cpus:0.1;mem:32")
        let task = Agora_V1_TaskInfo.command(id: "t-1", name: "hello", shell: "echo hi", resources: resources, agentID: "a-1")
        #expect(task.taskID.value == "t-1")
        #expect(task.name == "hello")
        #expect(task.agentID.value == "a-1")
        #expect(task.command.shell)
        #expect(task.command.value == "echo hi")
        #expect(try Resources(proto: task.resources) == resources)

        let direct = Agora_V1_TaskInfo.command(id: "t-2", name: "ls", executable: "/bin/ls", arguments: ["-l"],
                                               resources: resources, agentID: "a-1")
        #expect(!direct.command.shell)
        #expect(direct.command.arguments == ["/bin/ls", "-l"])
    }

    @Test func offerResourcesHandOutWhatFits() throws {
        var offer = Agora_V1_Offer()
        offer.id.value = "o-1"
        offer.agentID.value = "a-1"
        offer.resources = try Resources(parsing: "cpus:1;mem:100").proto
        offer.attributes = try Attributes(parsing: "rack:r1").proto
        var offered = try OfferResources(offer)
        #expect(offered.offerID == "o-1")
        #expect(offered.attributes["rack"]?.valueText == "r1")
        let need = try Resources(parsing: "cpus:0.4;mem:40")
        let taken = [offered.take(need), offered.take(need), offered.take(need)]
        #expect(taken == [true, true, false], "only 0.2 cpus and 20 mem are left for the third")
        #expect(offered.remaining == (try Resources(parsing: "cpus:0.2;mem:20")))
        #expect(offered.total.cpus == Scalar(1))
    }

    @Test func offerWithAnInvalidResourceThrows() {
        var offer = Agora_V1_Offer()
        var bad = Agora_V1_Resource()
        bad.name = ""
        offer.resources = [bad]
        #expect(throws: ResourceConversionError.self) { try OfferResources(offer) }
    }
}
