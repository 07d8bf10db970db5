import Foundation
import Master
import Resources

// The pure allocator at scale, mirroring Mesos' HierarchicalAllocator benchmarks
// (DeclineOffers): every framework wants many small tasks and declines what it is
// offered with a long filter, so each cycle must walk past filtered frameworks.
//
//   AllocatorBench AGENTS FRAMEWORKS [CYCLES]
//
// Prints one JSON line: the first cycle (everything free), the median of the later
// cycles (after declines, everything filtered away again), and the process's peak
// resident memory.

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let agentCount = Int(arguments[1]), let frameworkCount = Int(arguments[2]),
      agentCount > 0, frameworkCount > 0 else {
    FileHandle.standardError.write(Data("usage: AllocatorBench AGENTS FRAMEWORKS [CYCLES]\n".utf8))
    exit(2)
}
let cycles = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
let clock = ContinuousClock()

var allocator = Allocator(configuration: AllocatorConfiguration())
let agentResources = try! Resources(parsing: "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]")
for index in 0..<agentCount {
    allocator.addAgent("agent-\(index)", total: agentResources)
}
let roles = ["*"] + (0..<10).map { "role-\($0)" }
for index in 0..<frameworkCount {
    allocator.addFramework("framework-\(index)", roles: [roles[index % roles.count] == "*" ? "*" : roles[index % roles.count]])
}

var now: Duration = .zero
var firstCycle = 0.0
var later: [Double] = []
var allocations = 0
for cycle in 0...cycles {
    let start = clock.now
    let offers = allocator.allocate(now: now)
    let elapsed = seconds(clock.now - start)
    if cycle == 0 { firstCycle = elapsed; allocations = offers.count } else { later.append(elapsed) }
    // Every framework declines everything for a long time, as in Mesos' benchmark.
    for offer in offers {
        allocator.recover(offer.resources, agent: offer.agentID, framework: offer.frameworkID,
                          refuseFor: .seconds(86_400), now: now)
    }
    now += .seconds(1)
}
later.sort()
let median = later.isEmpty ? 0 : later[later.count / 2]
print(#"{"agents":\#(agentCount),"frameworks":\#(frameworkCount),"first_cycle_ms":\#(String(format: "%.1f", firstCycle * 1000)),"first_cycle_offers":\#(allocations),"declined_cycle_median_ms":\#(String(format: "%.1f", median * 1000)),"peak_rss_mb":\#(String(format: "%.0f", peakRSSMegabytes()))}"#)
