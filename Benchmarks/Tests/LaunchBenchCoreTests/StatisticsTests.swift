import LaunchBenchCore
import Testing

@Suite struct StatisticsTests {
    @Test func quantilesByNearestRank() {
        let values = (1...100).map(Double.init).shuffled()
        #expect(Statistics.quantile(values, 0.5) == 50)
        #expect(Statistics.quantile(values, 0.99) == 99)
        #expect(Statistics.quantile(values, 1) == 100)
        #expect(Statistics.quantile(values, 0) == 1)
        #expect(Statistics.quantile([7], 0.99) == 7)
        #expect(Statistics.quantile([], 0.5) == nil)
    }

    @Test func medianOfOddAndEvenSamples() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
        #expect(Statistics.median([]) == nil)
    }
}
