import Framework
import Resources
import Testing

private typealias F = MatchingFixtures

/// Marathon constraints: parsing, each operator's verdict, and their effect on packing.
struct MatchingConstraintTests {
    // MARK: Parsing

    @Test(arguments: [
        (["hostname", "UNIQUE"], Constraint.Operator.unique),
        (["rack", "LIKE", "r[12]"], .like("r[12]")),
        (["rack", "UNLIKE", "r3"], .unlike("r3")),
        (["zone", "GROUP_BY"], .groupBy(nil)),
        (["zone", "GROUP_BY", "3"], .groupBy(3)),
        (["rack", "MAX_PER", "2"], .maxPer(2)),
        (["hostname", "CLUSTER", "a.example"], .cluster("a.example")),
        (["hostname", "CLUSTER"], .cluster(nil)),
        (["level", "IS", "3"], .is("3")),
    ])
    func parsesMarathonForm(parts: [String], expected: Constraint.Operator) throws {
        let constraint = try Constraint(parsing: parts)
        #expect(constraint.field == parts[0])
        #expect(constraint.operator == expected)
        #expect(constraint.parts == parts)
        #expect(try Constraint(parsing: constraint.description) == constraint, "the text form reads back")
    }

    @Test func operatorsIgnoreCaseAndTextFormKeepsColonsInValue() throws {
        #expect(try Constraint(parsing: ["hostname", "unique"]).operator == .unique)
        let constraint = try Constraint(parsing: "label:IS:a:b")
        #expect(constraint.parts == ["label", "IS", "a:b"])
        #expect(constraint.description == "label:IS:a:b")
    }

    @Test(arguments: [
        (["hostname", "SPREAD"], ConstraintParseError.Code.unknownOperator, "unknown operator \"SPREAD\"; expected one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS"),
        (["rack", "LIKE"], .missingValue, "LIKE needs a value"),
        (["rack", "IS", ""], .missingValue, "IS needs a value"),
        (["rack", "MAX_PER"], .missingValue, "MAX_PER needs a value"),
        (["rack", "LIKE", "r[12"], .invalidRegex, "\"r[12\" is not a valid regular expression"),
        (["rack", "UNLIKE", "(r1"], .invalidRegex, "\"(r1\" is not a valid regular expression"),
        (["rack", "MAX_PER", "two"], .invalidNumber, "MAX_PER needs a whole number of at least 1, got \"two\""),
        (["rack", "MAX_PER", "0"], .invalidNumber, "MAX_PER needs a whole number of at least 1, got \"0\""),
        (["zone", "GROUP_BY", "-1"], .invalidNumber, "GROUP_BY needs a whole number of at least 1, got \"-1\""),
        (["hostname", "UNIQUE", "x"], .unexpectedValue, "UNIQUE takes no value"),
        (["hostname"], .malformed, "expected [field, OPERATOR] or [field, OPERATOR, value], got 1 parts"),
        (["a", "IS", "b", "c"], .malformed, "expected [field, OPERATOR] or [field, OPERATOR, value], got 4 parts"),
        (["", "UNIQUE"], .malformed, "the field is empty"),
    ])
    func parseErrorsSayWhatIsWrong(parts: [String], code: ConstraintParseError.Code, reason: String) {
        #expect {
            try Constraint(parsing: parts)
        } throws: { error in
            guard let error = error as? ConstraintParseError else { return false }
            return error.code == code && error.constraint == parts && error.reason.hasPrefix(reason)
                && error.description.contains(reason)
        }
    }

    @Test func parseErrorDescriptionShowsTheConstraint() {
        let error = #expect(throws: ConstraintParseError.self) { try Constraint(parsing: ["rack", "FOO", "x"]) }
        #expect(error?.description.hasPrefix("invalid constraint [\"rack\", \"FOO\", \"x\"]: unknown operator \"FOO\"") == true)
        #expect(throws: ConstraintParseError.self) { try Constraint(field: "rack", operator: .like("[")) }
        #expect(throws: ConstraintParseError.self) { try Constraint(field: "rack", operator: .maxPer(0)) }
    }

    // MARK: Operators

    @Test func uniqueRejectsAValueAnInstanceHas() throws {
        let unique = try F.constraint("hostname", "UNIQUE")
        let existing = [try F.location("a.example")]
        #expect(unique.evaluate(try F.location("b.example"), existing: existing) == .accepted)
        #expect(unique.evaluate(try F.location("a.example"), existing: existing)
            == .rejected(reason: "hostname UNIQUE: an instance already runs on a.example"))
        let rackUnique = try F.constraint("rack", "UNIQUE")
        #expect(rackUnique.evaluate(try F.location("c.example", "rack:r1"), existing: [try F.location("d.example", "rack:r1")])
            == .rejected(reason: "rack UNIQUE: an instance already runs on rack r1"))
        #expect(rackUnique.evaluate(try F.location("c.example"), existing: [])
            == .rejected(reason: "rack UNIQUE: the agent has no attribute rack"))
    }

    @Test func uniqueHostnameSpreadsTasksOfOneCall() throws {
        let offers = [
            try F.offer("o-a", host: "a.example", "cpus:8;mem:4096"),
            try F.offer("o-b", host: "b.example", "cpus:8;mem:4096"),
        ]
        let request = TaskRequest(ResourceRequest(cpus: 1, mem: 128), constraints: [try F.constraint("hostname", "UNIQUE")])
        let result = OfferPacker.place(requests: Array(repeating: request, count: 3), offers: offers)
        #expect(result.assignments.map(\.hostname) == ["a.example", "b.example"])
        #expect(result.diagnosis(forRequest: 2)?.summary == "offers: 2 total; 2 rejected by constraint hostname:UNIQUE")
    }

    @Test func likeMatchesTheWholeValue() throws {
        let like = try F.constraint("rack", "LIKE", "r[12]")
        #expect(like.evaluate(try F.location("h", "rack:r1"), existing: []).isAccepted)
        #expect(like.evaluate(try F.location("h", "rack:r2"), existing: []).isAccepted)
        #expect(like.evaluate(try F.location("h", "rack:r12"), existing: [])
            == .rejected(reason: "rack LIKE r[12]: r12 does not match"), "a prefix match is not enough")
        #expect(like.evaluate(try F.location("h", "rack:xr1"), existing: []).isAccepted == false)
        #expect(like.evaluate(try F.location("h"), existing: [])
            == .rejected(reason: "rack LIKE r[12]: the agent has no attribute rack"))
        let hostLike = try F.constraint("hostname", "LIKE", "web-[0-9]+\\.example")
        #expect(hostLike.evaluate(try F.location("web-12.example"), existing: []).isAccepted)
        #expect(!hostLike.evaluate(try F.location("db-1.example"), existing: []).isAccepted)
    }

    @Test func unlikeRejectsWholeMatchesAndPassesMissingAttributes() throws {
        let unlike = try F.constraint("rack", "UNLIKE", "r[12]")
        #expect(unlike.evaluate(try F.location("h", "rack:r1"), existing: [])
            == .rejected(reason: "rack UNLIKE r[12]: r1 matches"))
        #expect(unlike.evaluate(try F.location("h", "rack:r3"), existing: []).isAccepted)
        #expect(unlike.evaluate(try F.location("h", "rack:r12"), existing: []).isAccepted)
        #expect(unlike.evaluate(try F.location("h"), existing: []).isAccepted)
    }

    @Test func groupByWithoutCountPrefersAValueWithFewerInstancesAmongOffers() throws {
        let groupBy = try F.constraint("zone", "GROUP_BY")
        let existing = [try F.location("a1", "zone:a"), try F.location("a2", "zone:a"), try F.location("b1", "zone:b")]
        let candidates = [try F.location("a3", "zone:a"), try F.location("b2", "zone:b"), try F.location("c1", "zone:c")]
        #expect(groupBy.evaluate(try F.location("c1", "zone:c"), existing: existing, candidates: candidates).isAccepted)
        #expect(groupBy.evaluate(try F.location("b2", "zone:b"), existing: existing, candidates: candidates)
            == .rejected(reason: "zone GROUP_BY: zone b has 1 instance, zone c has 0"))
        #expect(groupBy.evaluate(try F.location("b2", "zone:b"), existing: existing, candidates: Array(candidates.prefix(2)))
            .isAccepted, "without an offer in zone c, zone b has the fewest")
        #expect(!groupBy.evaluate(try F.location("a3", "zone:a"), existing: existing, candidates: Array(candidates.prefix(2)))
            .isAccepted)
    }

    @Test func groupByBalancesTasksOverTheOfferedZones() throws {
        let offers = [
            try F.offer("o-a", host: "a.example", "cpus:8;mem:4096", attributes: "zone:a"),
            try F.offer("o-a2", host: "a2.example", "cpus:8;mem:4096", attributes: "zone:a"),
            try F.offer("o-b", host: "b.example", "cpus:8;mem:4096", attributes: "zone:b"),
            try F.offer("o-c", host: "c.example", "cpus:8;mem:4096", attributes: "zone:c"),
        ]
        let request = TaskRequest(ResourceRequest(cpus: 1), constraints: [try F.constraint("zone", "GROUP_BY")])
        let result = OfferPacker.place(requests: Array(repeating: request, count: 7), offers: offers,
                                       existing: [try F.location("old.example", "zone:a")])
        var perZone: [String: Int] = ["a": 1]
        for assignment in result.assignments {
            let zone = try #require(offers.first { $0.offerID == assignment.offerID }?.attributes["zone"]?.valueText)
            perZone[zone, default: 0] += 1
        }
        #expect(result.assignments.count == 7)
        #expect(perZone == ["a": 3, "b": 3, "c": 2], "8 instances over 3 zones, zone a had one already")
        #expect(result.assignments.prefix(2).map(\.offerID) == ["o-b", "o-c"], "the empty zones first")
    }

    @Test func groupByWithCountWaitsForThatManyValues() throws {
        let groupBy = try F.constraint("zone", "GROUP_BY", "3")
        let twoZones = [try F.location("a1", "zone:a"), try F.location("b1", "zone:b")]
        #expect(groupBy.evaluate(try F.location("a2", "zone:a"), existing: twoZones) == .rejected(
            reason: "zone GROUP_BY 3: instances run on 2 of 3 zone values; waiting for an offer on a new one, not zone a"))
        #expect(groupBy.evaluate(try F.location("c1", "zone:c"), existing: twoZones).isAccepted)
        let threeZones = twoZones + [try F.location("c1", "zone:c")]
        #expect(groupBy.evaluate(try F.location("a2", "zone:a"), existing: threeZones).isAccepted)
        #expect(groupBy.evaluate(try F.location("a3", "zone:a"), existing: threeZones + [try F.location("a2", "zone:a")])
            == .rejected(reason: "zone GROUP_BY 3: zone a has 2 instances, zone b has 1"))
    }

    @Test func maxPerCapsInstancesPerValue() throws {
        let offers = [
            try F.offer("o-1", host: "h1.example", "cpus:8;mem:4096", attributes: "rack:r1"),
            try F.offer("o-2", host: "h2.example", "cpus:8;mem:4096", attributes: "rack:r1"),
            try F.offer("o-3", host: "h3.example", "cpus:8;mem:4096", attributes: "rack:r2"),
        ]
        let request = TaskRequest(ResourceRequest(cpus: 1), constraints: [try F.constraint("rack", "MAX_PER", "2")])
        let result = OfferPacker.place(requests: Array(repeating: request, count: 5), offers: offers)
        #expect(result.assignments.map(\.offerID) == ["o-1", "o-1", "o-3", "o-3"])
        let diagnosis = try #require(result.diagnosis(forRequest: 4))
        #expect(diagnosis.offers.map(\.description) == [
            "o-1 (h1.example): rack MAX_PER 2: 2 instances already run on rack r1",
            "o-2 (h2.example): rack MAX_PER 2: 2 instances already run on rack r1",
            "o-3 (h3.example): rack MAX_PER 2: 2 instances already run on rack r2",
        ])
        #expect(diagnosis.summary == "offers: 3 total; 3 rejected by constraint rack:MAX_PER:2")
    }

    @Test func clusterPinsToAValue() throws {
        let cluster = try F.constraint("hostname", "CLUSTER", "a.example")
        #expect(cluster.evaluate(try F.location("a.example"), existing: []).isAccepted)
        #expect(cluster.evaluate(try F.location("b.example"), existing: [])
            == .rejected(reason: "hostname CLUSTER a.example: the offer is on b.example"))

        let offers = [
            try F.offer("o-b", host: "b.example", "cpus:8;mem:4096"),
            try F.offer("o-a", host: "a.example", "cpus:8;mem:4096"),
        ]
        let result = OfferPacker.place(requests: Array(repeating: TaskRequest(ResourceRequest(cpus: 1), constraints: [cluster]), count: 2),
                                       offers: offers)
        #expect(result.assignments.map(\.hostname) == ["a.example", "a.example"])

        let follow = try F.constraint("rack", "CLUSTER")
        #expect(follow.evaluate(try F.location("h", "rack:r2"), existing: []).isAccepted, "nothing to follow yet")
        #expect(follow.evaluate(try F.location("h", "rack:r2"), existing: [try F.location("g", "rack:r1")])
            == .rejected(reason: "rack CLUSTER: instances run on rack r1, the offer is on rack r2"))
    }

    @Test func isComparesTextAndNumbers() throws {
        #expect(try F.constraint("zone", "IS", "a").evaluate(try F.location("h", "zone:a"), existing: []).isAccepted)
        #expect(try F.constraint("zone", "IS", "a").evaluate(try F.location("h", "zone:b"), existing: [])
            == .rejected(reason: "zone IS a: the offer has zone b"))
        #expect(try F.constraint("level", "IS", "3.0").evaluate(try F.location("h", "level:3"), existing: []).isAccepted)
        #expect(!(try F.constraint("level", "IS", "4").evaluate(try F.location("h", "level:3"), existing: []).isAccepted))
        #expect(try F.constraint("hostname", "IS", "h").evaluate(try F.location("h"), existing: []).isAccepted)
    }

    @Test func everyFailedConstraintIsListedWithTheShortResources() throws {
        let offer = try F.offer("o-1", host: "a.example", "cpus:1;mem:64", attributes: "rack:r3")
        let request = TaskRequest(ResourceRequest(cpus: 1, mem: 128), constraints: [
            try F.constraint("rack", "LIKE", "r[12]"), try F.constraint("hostname", "UNIQUE"),
        ])
        let result = OfferPacker.place(requests: [request], in: offer, existing: [try F.location("a.example")])
        #expect(result.diagnosis(forRequest: 0)?.offers.first?.rejections.map(\.description) == [
            "mem: needs 128, offer has 64 left",
            "rack LIKE r[12]: r3 does not match",
            "hostname UNIQUE: an instance already runs on a.example",
        ])
    }
}
