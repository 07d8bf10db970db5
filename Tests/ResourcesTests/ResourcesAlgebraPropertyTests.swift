import PropertyBased
import Resources
import Testing

/// Random bags of resources: a few names, roles and kinds, tenths of cpus, port ranges.
let resourcesGenerator = zip(
    Gen.int(in: 0...40),  // cpus, tenths
    Gen.int(in: 0...4_096),  // mem
    Gen.int(in: 0...30),  // reserved cpus, tenths
    Gen.int(in: 0...100).array(of: 0...4),  // port range starts
    Gen.int(in: 0...10).array(of: 0...4),  // port range lengths
    Gen.element(of: ["a", "b", "c", "d"]).array(of: 0...3)  // set items
).map { cpus, mem, reservedCpus, starts, lengths, items -> Resources in
    var ports: [ClosedRange<UInt64>] = []
    for (start, length) in zip(starts, lengths) {
        ports.append(UInt64(31_000 + start)...UInt64(31_000 + start + length))
    }
    return Resources([
        Resource(name: "cpus", value: .scalar(Scalar(thousandths: Int64(cpus) * 100))),
        Resource(name: "mem", value: .scalar(Scalar(Double(mem)))),
        Resource(name: "cpus", role: "ops", value: .scalar(Scalar(thousandths: Int64(reservedCpus) * 100))),
        Resource(name: "ports", value: .ranges(RangeSet(ports))),
        Resource(name: "zones", value: .set(Set(items.compactMap { $0 }))),
    ])
}

/// Two bags whose ports and set items are distinct. Ports and set items are
/// identities, not quantities: adding port 31000 to a bag that already has it leaves
/// one port 31000, so `(a + b) - b == a` only holds when `b` brings new ones.
let disjointPairGenerator = zip(resourcesGenerator, resourcesGenerator).map { a, b in
    let identities = a.filter { resource in
        if case .scalar = resource.value { return false }
        return true
    }
    return (a, b - identities)
}

let rangeSetGenerator = zip(Gen.int(in: 0...200).array(of: 0...6), Gen.int(in: 0...20).array(of: 0...6))
    .map { starts, lengths in
        RangeSet(zip(starts, lengths).map { UInt64($0)...UInt64($0 + $1) })
    }

struct ResourcesAlgebraPropertyTests {
    @Test func addingThenSubtractingReturnsTheOriginal() async {
        await propertyCheck(count: 300, input: disjointPairGenerator) { pair in
            let (a, b) = pair
            #expect((a + b) - b == a)
        }
    }

    @Test func aSumContainsItsParts() async {
        await propertyCheck(count: 300, input: resourcesGenerator, resourcesGenerator) { a, b in
            #expect((a + b).contains(a))
            #expect((a + b).contains(b))
        }
    }

    @Test func subtractionNeverGoesNegativeNorInventsResources() async {
        await propertyCheck(count: 300, input: resourcesGenerator, resourcesGenerator) { a, b in
            let difference = a - b
            for resource in difference {
                if case .scalar(let value) = resource.value { #expect(value > .zero) }
            }
            #expect(a.contains(difference))
            if a.contains(b) { #expect(difference + b == a) }
        }
    }

    @Test func additionIsCommutativeAndAssociative() async {
        await propertyCheck(count: 200, input: resourcesGenerator, resourcesGenerator, resourcesGenerator) { a, b, c in
            #expect(a + b == b + a)
            #expect((a + b) + c == a + (b + c))
        }
    }

    @Test func printingThenParsingReturnsTheOriginal() async {
        await propertyCheck(count: 300, input: resourcesGenerator) { a in
            #expect((try? Resources(parsing: a.description)) == a)
        }
    }

    @Test func protoRoundTripReturnsTheOriginal() async {
        await propertyCheck(count: 300, input: resourcesGenerator) { a in
            #expect((try? Resources(proto: a.proto)) == a)
        }
    }

    @Test func rangeMergeThenSplitReturnsTheOriginal() async {
        await propertyCheck(count: 300, input: rangeSetGenerator, rangeSetGenerator) { a, b in
            let merged = a.union(b)
            #expect(merged.contains(a) && merged.contains(b))
            #expect(merged.subtracting(b).union(b) == merged)
            // Splitting off b and putting it back restores a when b lies inside a.
            let inside = a.subtracting(a.subtracting(b))
            #expect(a.subtracting(inside).union(inside) == a)
            // Ranges stay sorted and never touch.
            for (left, right) in zip(merged.ranges, merged.ranges.dropFirst()) {
                #expect(left.upperBound + 1 < right.lowerBound)
            }
        }
    }
}
