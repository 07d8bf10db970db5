import AgoraProto
import Framework
import Resources
import Testing

private typealias F = MatchingFixtures

/// Resource requests, port assignment, packing strategies and diagnoses.
struct MatchingTests {
    // MARK: Requests and ports

    @Test func requestBecomesResourcesOfItsRole() throws {
        let request = ResourceRequest(cpus: 0.5, mem: 128, ports: 1, requiredPorts: [8080, 8080], role: "ops")
        #expect(request.requiredPorts == [8080], "a repeated required port is kept once")
        #expect(request.totalPortCount == 2)
        #expect(request.resources(withPorts: [8080, 31000])
            == (try Resources(parsing: "cpus(ops):0.5;mem(ops):128;ports(ops):[8080-8080,31000-31000]")))
        #expect(ResourceRequest(cpus: 1).resources() == (try Resources(parsing: "cpus:1")), "zero amounts are left out")
    }

    @Test func portPickerTakesRequiredThenLowestFree() {
        let free = RangeSet([31000...31002, 31010...31020])
        #expect(PortPicker.pick(count: 4, required: [31015], from: free) == [31015, 31000, 31001, 31002, 31010])
        #expect(PortPicker.pick(count: 2, required: [31000], from: free) == [31000, 31001, 31002])
        #expect(PortPicker.pick(count: 14, from: free)?.count == 14, "exactly all free ports")
        #expect(PortPicker.pick(count: 15, from: free) == nil, "one more than is free")
        #expect(PortPicker.pick(count: 0, required: [31005], from: free) == nil, "31005 is not offered")
        #expect(PortPicker.pick(count: 0, from: free) == [])
        #expect(PortPicker.pick(count: 2, from: RangeSet([UInt64.max...UInt64.max])) == nil)
        #expect(PortPicker.pick(count: 1, from: RangeSet([UInt64.max...UInt64.max])) == [UInt64.max])
    }

    @Test func portsAreNeverAssignedTwiceInOneOffer() throws {
        let offer = try F.offer("o-1", host: "a.example", "cpus:100;mem:100000;ports:[31000-31009,40000-40004]")
        let offered = Set(F.ports(of: offer.total))
        var requests = [TaskRequest(ResourceRequest(cpus: 0.1, ports: 1, requiredPorts: [40002]))]
        requests += Array(repeating: TaskRequest(ResourceRequest(cpus: 0.1, ports: 2)), count: 7)
        let result = OfferPacker.place(requests: requests, in: offer)

        let assigned = result.assignments.flatMap(\.granted.ports)
        #expect(result.assignments.count == 7, "2 + 6 × 2 = 14 of 15 ports; the last task needs 2 and 1 is left")
        #expect(result.assignment(forRequest: 0)?.granted.ports.first == 40002)
        #expect(Set(assigned).count == assigned.count, "no port handed out twice: \(assigned)")
        #expect(Set(assigned).isSubset(of: offered))
        for assignment in result.assignments {
            #expect(F.ports(of: assignment.granted.resources) == assignment.granted.ports.sorted(),
                    "the ports in the resources are the ones listed")
        }
        #expect(result.offers[0].remaining.ports.count == 1)
        #expect(result.diagnosis(forRequest: 7)?.offers.first?.rejections == [
            .insufficientPorts(resource: "ports", needed: 2, available: 1),
        ])
        #expect(result.diagnosis(forRequest: 7)?.offers.first?.description == "o-1 (a.example): ports: needs 2, offer has 1 left")
    }

    /// Many seeded random rounds: whatever is placed, ports stay distinct per agent
    /// and inside what was offered, and scalars never exceed the offer.
    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func randomPackingKeepsPortsDistinctAndInsideOffers(seed: UInt64) throws {
        var random = MatchingRandom(seed: seed)
        var offers: [OfferResources] = []
        for index in 0..<Int(random.next(below: 4) + 1) {
            let low = 31000 + random.next(below: 20)
            let high = low + random.next(below: 8)
            let extra = 40000 + random.next(below: 5)
            offers.append(try F.offer("o-\(index)", host: "h\(index).example",
                                      "cpus:\(random.next(below: 4) + 1);mem:1024;ports:[\(low)-\(high),\(extra)-\(extra + 2)]"))
        }
        let requests = (0..<Int(random.next(below: 12) + 1)).map { _ in
            TaskRequest(ResourceRequest(cpus: 0.5, mem: 64, ports: Int(random.next(below: 3)),
                                        requiredPorts: random.next(below: 4) == 0 ? [40002] : []))
        }
        for strategy in [PackingStrategy.firstFit, .bestFit] {
            let result = OfferPacker.place(requests: requests, offers: offers, strategy: strategy)
            #expect(result.assignments.count + result.unplaced.count == requests.count)
            for offer in offers {
                let mine = result.assignments.filter { $0.offerID == offer.offerID }
                let ports = mine.flatMap(\.granted.ports)
                #expect(Set(ports).count == ports.count, "seed \(seed): port given twice on \(offer.offerID): \(ports)")
                #expect(ports.allSatisfy(offer.total.ports.contains), "seed \(seed): port outside the offer")
                let used = mine.reduce(Resources()) { $0 + $1.granted.resources }
                #expect(offer.total.contains(used), "seed \(seed): \(used) exceeds \(offer.total)")
                for assignment in mine {
                    let request = requests[assignment.requestIndex].resources
                    #expect(assignment.granted.ports.count == request.totalPortCount)
                    #expect(Array(assignment.granted.ports.prefix(request.requiredPorts.count)) == request.requiredPorts)
                }
            }
        }
    }

    @Test func requiredPortsAreHonoredOrDiagnosed() throws {
        let offers = [
            try F.offer("o-a", host: "a.example", "cpus:4;mem:1024;ports:[8000-8080]"),
            try F.offer("o-b", host: "b.example", "cpus:4;mem:1024;ports:[31000-32000]"),
        ]
        let wantsWeb = TaskRequest(ResourceRequest(cpus: 1, requiredPorts: [8080]))
        let result = OfferPacker.place(requests: [wantsWeb, wantsWeb], offers: offers)

        let placed = try #require(result.assignment(forRequest: 0))
        #expect(placed.offerID == "o-a")
        #expect(placed.granted.ports == [8080])
        #expect(placed.granted.resources == (try Resources(parsing: "cpus:1;ports:[8080-8080]")))
        let diagnosis = try #require(result.diagnosis(forRequest: 1))
        #expect(diagnosis.offers.map(\.description) == [
            "o-a (a.example): ports: needs port 8080, offer has [8000-8079] left",
            "o-b (b.example): ports: needs port 8080, offer has [31000-32000] left",
        ])
        #expect(diagnosis.summary == "offers: 2 total; 2 short of ports")
    }

    // MARK: Strategies

    /// A small task first: first-fit puts it in the big offer and the big task no
    /// longer fits anywhere; best-fit puts it in the small offer and both fit.
    @Test func firstFitAndBestFitDifferOnASmallTaskFirst() throws {
        let offers = [
            try F.offer("big", host: "big.example", "cpus:4;mem:1024"),
            try F.offer("small", host: "small.example", "cpus:1;mem:256"),
        ]
        let requests = [TaskRequest(ResourceRequest(cpus: 1, mem: 256)), TaskRequest(ResourceRequest(cpus: 2, mem: 1024))]

        let firstFit = OfferPacker.place(requests: requests, offers: offers, strategy: .firstFit)
        #expect(firstFit.assignments.map(\.offerID) == ["big"])
        #expect(firstFit.diagnosis(forRequest: 1)?.summary == "offers: 2 total; 2 short of mem, 1 short of cpus")

        let bestFit = OfferPacker.place(requests: requests, offers: offers, strategy: .bestFit)
        #expect(bestFit.assignments.map(\.offerID) == ["small", "big"])
        #expect(bestFit.unplaced.isEmpty)
        #expect(bestFit.offers.allSatisfy { $0.remaining.isEmpty == ($0.offerID == "small") })
    }

    @Test func oneOfferTakesAsManyAsFitAndKeepsTheRest() throws {
        let offer = try F.offer("o-1", host: "a.example", "cpus:1;mem:100")
        let result = OfferPacker.place(requests: Array(repeating: TaskRequest(ResourceRequest(cpus: 0.4, mem: 40)), count: 3),
                                       in: offer)
        #expect(result.assignments.map(\.requestIndex) == [0, 1])
        #expect(result.offers[0].remaining == (try Resources(parsing: "cpus:0.2;mem:20")))
        #expect(result.diagnosis(forRequest: 2)?.offers.first?.rejections.map(\.description)
            == ["cpus: needs 0.4, offer has 0.2 left", "mem: needs 40, offer has 20 left"])
    }

    @Test func protoOffersAreReadAndAssignmentsNameOfferAndAgent() throws {
        let offers = [try F.proto("o-7", host: "h.example", "cpus:2;mem:512;ports:[31000-31010]", attributes: "rack:r1")]
        let result = try OfferPacker.place(
            requests: [TaskRequest(ResourceRequest(cpus: 1, mem: 256, ports: 2), constraints: [try F.constraint("rack", "IS", "r1")])],
            offers: offers)
        let assignment = try #require(result.assignments.first)
        #expect(assignment.offerID == "o-7")
        #expect(assignment.agentID == "agent-o-7")
        #expect(assignment.hostname == "h.example")
        #expect(assignment.granted.resources == (try Resources(parsing: "cpus:1;mem:256;ports:[31000-31001]")))
    }

    // MARK: Diagnosis

    @Test func diagnosisNamesShortResourcesAmountsAndConstraints() throws {
        let offers = [
            try F.offer("o-a", host: "a.example", "cpus:4;mem:1024"),
            try F.offer("o-b", host: "b.example", "cpus:4;mem:256"),
            try F.offer("o-c", host: "c.example", "cpus:4;mem:256"),
        ]
        let request = TaskRequest(ResourceRequest(cpus: 1, mem: 512), constraints: [try F.constraint("hostname", "UNIQUE")])
        let result = OfferPacker.place(requests: [request], offers: offers, existing: [try F.location("a.example")])

        let diagnosis = try #require(result.diagnosis(forRequest: 0))
        #expect(result.assignments.isEmpty)
        #expect(diagnosis.summary == "offers: 3 total; 2 short of mem, 1 rejected by constraint hostname:UNIQUE")
        #expect(diagnosis.offers.map(\.description) == [
            "o-a (a.example): hostname UNIQUE: an instance already runs on a.example",
            "o-b (b.example): mem: needs 512, offer has 256 left",
            "o-c (c.example): mem: needs 512, offer has 256 left",
        ])
        #expect(diagnosis.description.hasPrefix(diagnosis.summary + "\n  o-a (a.example): "))
    }

    @Test func reservedRequestsUseOnlyTheirRole() throws {
        let offer = try F.offer("o-1", host: "a.example", "cpus(ops):2;mem:1024;mem(ops):64;ports:[31000-31005]")
        let result = OfferPacker.place(requests: [TaskRequest(ResourceRequest(cpus: 1, mem: 128, ports: 1, role: "ops"))], in: offer)
        #expect(result.diagnosis(forRequest: 0)?.offers.first?.rejections.map(\.description) == [
            "mem(ops): needs 128, offer has 64 left",
            "ports(ops): needs 1, offer has 0 left",
        ])
        #expect(result.diagnosis(forRequest: 0)?.summary == "offers: 1 total; 1 short of mem(ops), 1 short of ports(ops)")

        let fits = OfferPacker.place(requests: [TaskRequest(ResourceRequest(cpus: 1, mem: 64, role: "ops"))], in: offer)
        #expect(fits.assignments.first?.granted.resources == (try Resources(parsing: "cpus(ops):1;mem(ops):64")))
        #expect(fits.offers[0].remaining == (try Resources(parsing: "cpus(ops):1;mem:1024;ports:[31000-31005]")))
    }

    @Test func noOffersGiveAnEmptySummary() {
        let result = OfferPacker.place(requests: [TaskRequest(ResourceRequest(cpus: 1))], offers: [OfferResources]())
        #expect(result.diagnosis(forRequest: 0)?.summary == "offers: 0 total")
    }
}
