import AgoraProto
import Messaging
import ProcessSupervision
import Synchronization

/// Something that happened to the agent, waiting to go through `AgentCore`.
enum AgentInput: Sendable {
    case master(Agora_V1_Envelope)
    case masterConnected
    case executor(InboundMessage)
    case executorExited(ExecutorKey, containerID: String, status: ExitStatus)
    /// The periodic timer (registration, update retries, timeouts, snapshots).
    case tick
}

/// The agent's input queue: any task may post, and the agent's single consumer takes
/// everything queued at once, so that one checkpoint write covers a whole batch.
final class AgentInbox: Sendable {
    private let queued = Mutex<[AgentInput]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `input` and wakes the consumer.
    func post(_ input: AgentInput) {
        queued.withLock { $0.append(input) }
        wake.yield()
    }

    /// Makes `waitForInput()` return `false` once the wake-up already pending is taken.
    func finish() {
        wake.finish()
    }

    /// Up to `limit` queued inputs, oldest first, or none.
    func take(upTo limit: Int) -> [AgentInput] {
        queued.withLock { inputs in
            guard inputs.count > limit else {
                defer { inputs = [] }
                return inputs
            }
            let batch = Array(inputs.prefix(limit))
            inputs.removeFirst(limit)
            return batch
        }
    }

    /// Waits until something may have been posted; `false` once finished or cancelled.
    func waitForInput(isolation actor: isolated (any Actor)? = #isolation) async -> Bool {
        var iterator = wakeups.makeAsyncIterator()
        return await iterator.next(isolation: actor) != nil
    }
}
