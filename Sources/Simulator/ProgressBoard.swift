import Foundation
import Synchronization

/// The simulation's shared `SimulationProgress`, fed by the fleet's shell and by the
/// framework's callbacks from their own tasks; hands every milestone to `report`.
final class ProgressBoard: Sendable {
    private let progress: Mutex<SimulationProgress>
    private let report: @Sendable (SimulationReport) -> Void

    init(progress: SimulationProgress, report: @escaping @Sendable (SimulationReport) -> Void) {
        self.progress = Mutex(progress)
        self.report = report
    }

    /// Applies `change` at the current wall-clock time and reports its milestones in order.
    func record(_ change: (inout SimulationProgress, Double) -> [SimulationReport]) {
        // Reported inside the lock so milestones keep their order across threads.
        progress.withLock { progress in
            for milestone in change(&progress, Date().timeIntervalSince1970) { report(milestone) }
        }
    }

    var runningTaskCount: Int { progress.withLock { $0.runningTaskCount } }
}
