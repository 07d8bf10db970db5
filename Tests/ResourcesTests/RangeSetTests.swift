import Resources
import Testing

struct RangeSetTests {
    @Test func overlappingAndTouchingRangesMerge() {
        #expect(RangeSet([1...2, 3...4]).ranges == [1...4])
        #expect(RangeSet([10...20, 1...5, 15...30]).ranges == [1...5, 10...30])
        #expect(RangeSet([1...1, 1...1]).ranges == [1...1])
    }

    @Test func subtractingSplitsARange() {
        let ports = RangeSet([31_000...31_010])
        #expect(ports.subtracting(RangeSet([31_005...31_005])).ranges == [31_000...31_004, 31_006...31_010])
        #expect(ports.subtracting(RangeSet([30_000...31_002, 31_009...40_000])).ranges == [31_003...31_008])
        #expect(ports.subtracting(ports).isEmpty)
    }

    @Test func containment() {
        let ports = RangeSet([31_000...32_000, 33_000...33_010])
        #expect(ports.contains(RangeSet([31_500...31_600, 33_005...33_005])))
        #expect(!ports.contains(RangeSet([32_000...33_000])))
        #expect(ports.contains(33_010))
        #expect(!ports.contains(32_500))
        #expect(ports.count == 1_001 + 11)
    }

    @Test func printing() {
        #expect(RangeSet([31_000...32_000, 33_000...33_010]).description == "[31000-32000,33000-33010]")
    }
}
