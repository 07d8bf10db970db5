import Resources
import Testing

struct ScalarTests {
    @Test func tenthsAddAndSubtractExactly() {
        var total = Scalar.zero
        var double = 0.0
        for _ in 0..<10 {
            total += Scalar(0.1)
            double += 0.1
        }
        #expect(total == Scalar(1))
        #expect(double != 1.0, "doubles drift, which is why scalars are fixed-point")
        for _ in 0..<10 { total -= Scalar(0.1) }
        #expect(total == .zero)
    }

    @Test func thousandAddsAndSubtractsReturnToZero() {
        var total = Scalar.zero
        for step in 0..<1_000 { total += Scalar(step.isMultiple(of: 3) ? 0.3 : 0.1) }
        for step in (0..<1_000).reversed() { total -= Scalar(step.isMultiple(of: 3) ? 0.3 : 0.1) }
        #expect(total.isZero)
    }

    @Test(arguments: [(0.1, "0.1"), (4, "4"), (2.5, "2.5"), (0.125, "0.125"), (0.0004, "0"), (0.0005, "0.001"), (1024, "1024"), (0.05, "0.05")])
    func printsWithoutTrailingZeros(value: Double, text: String) {
        #expect(Scalar(value).description == text)
    }
}
