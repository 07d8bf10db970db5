import Foundation

extension Simulation {
    /// Deliberate harness faults, to check that the invariant checks do fire.
    enum Sabotage: String, CaseIterable {
        /// Invariant 1: an extra offer record for resources already offered is planted in the master.
        case duplicateOffer
        /// Invariant 2: a RunTask bigger than the agent is slipped to agent 0, bypassing the master.
        case rogueTask
        /// Invariant 3: each terminal update reaches its framework twice, the copy with another state.
        case forgeTerminalUpdate
        /// Invariants 3 and 4: frameworks never see status updates (so never acknowledge them).
        case loseUpdatesAtFramework
        /// Invariant 4: agent 0's checkpoint puts already-acknowledged updates back in its streams.
        case resendAcknowledged
        /// Invariant 4 (executors): the master never hears that an executor ended (exit
        /// reports are lost, pongs list no executors), so it keeps charging them.
        case silentExecutorExits
    }

    struct Failure: Error, CustomStringConvertible {
        var seed: UInt64
        var step: Int
        var violation: String
        var trace: [String]

        var description: String {
            "SIMULATION FAILED seed=\(seed) step=\(step): \(violation)\n"
                + "replay: AGORA_SIM_SEED=\(seed) swift test --skip-build --filter Simulation\n"
                + "last steps:\n" + trace.joined(separator: "\n")
        }
    }

    struct Statistics {
        var steps = 0
        var tasksLaunched = 0
        var tasksFinished = 0
        var updatesDelivered = 0
        var messagesSent = 0
        var messagesDropped = 0
        var agentCrashes = 0
        var masterCrashes = 0
        var partitions = 0
        var executorCrashes = 0
        var frameworkDisconnects = 0
        var virtualSeconds = 0.0

        mutating func add(_ other: Statistics) {
            steps += other.steps
            tasksLaunched += other.tasksLaunched
            tasksFinished += other.tasksFinished
            updatesDelivered += other.updatesDelivered
            messagesSent += other.messagesSent
            messagesDropped += other.messagesDropped
            agentCrashes += other.agentCrashes
            masterCrashes += other.masterCrashes
            partitions += other.partitions
            executorCrashes += other.executorCrashes
            frameworkDisconnects += other.frameworkDisconnects
            virtualSeconds += other.virtualSeconds
        }
    }

    /// Per-seed fault rates.
    struct Faults {
        var drop = 0.0
        var duplicate = 0.0
        /// Extra latency, so messages on different links overtake each other.
        var reorder = 0.0
        /// A long stall of one link (its later messages wait behind).
        var delay = 0.0
        /// Messages on one link overtaking each other, which one ZeroMQ connection never
        /// does. Off in the sweep; with it, expect benign findings such as a delayed
        /// KILL reaching an agent after the task ended and was forgotten (TASK_LOST).
        var intraLinkReorder = 0.0
        /// Per heartbeat (every ~0.3 s of virtual time).
        var agentCrash = 0.0
        var masterCrash = 0.0
        var partition = 0.0
        var executorCrash = 0.0
        var frameworkDisconnect = 0.0

        mutating func apply(_ overrides: [String: Double]) {
            for (name, value) in overrides {
                switch name {
                case "drop": drop = value
                case "duplicate": duplicate = value
                case "reorder": reorder = value
                case "delay": delay = value
                case "intraLinkReorder": intraLinkReorder = value
                case "agentCrash": agentCrash = value
                case "masterCrash": masterCrash = value
                case "partition": partition = value
                case "executorCrash": executorCrash = value
                case "frameworkDisconnect": frameworkDisconnect = value
                default: break
                }
            }
        }
    }
}
