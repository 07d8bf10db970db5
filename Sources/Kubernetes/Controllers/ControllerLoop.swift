import Foundation
import Logging

/// Runs a controller: reconciles once at start, again after every change to the
/// watched types (changes that arrive meanwhile are coalesced into one pass), and
/// every `resync` in any case, for conditions that depend on time.
enum ControllerLoop {
    static func run(store: ObjectStore, watching types: [ResourceType], resync: Duration = .seconds(5),
                    logger: Logger, reconcile: @escaping @Sendable () async -> Void) async {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            for type in types {
                group.addTask {
                    while !Task.isCancelled {
                        // A stream ends when its watcher falls too far behind; watch again.
                        guard let events = try? await store.watch(type, namespace: nil, resourceVersion: nil) else {
                            logger.error("cannot watch \(type.resource)")
                            try? await Task.sleep(for: .seconds(1))
                            continue
                        }
                        for await _ in events { trigger.yield() }
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: resync)
                    trigger.yield()
                }
            }
            group.addTask {
                for await _ in triggers {
                    if Task.isCancelled { break }
                    await reconcile()
                }
            }
            await group.waitForAll()
        }
    }
}

/// What every controller works with: the store it reconciles, where it logs, and its
/// clock (injected so tests can move time).
struct ControllerEnvironment: Sendable {
    let store: ObjectStore
    let logger: Logger
    let now: @Sendable () -> Date
}

/// A controller that `ControllerLoop` drives: it names the types whose changes call
/// for a pass, and `reconcileAll()` is one pass over everything it owns.
protocol StoreController: Sendable {
    /// The types whose changes trigger a pass.
    static var watchedTypes: [ResourceType] { get }
    /// How often a pass runs when nothing changes; 5 s unless the controller says otherwise.
    static var resync: Duration { get }
    var environment: ControllerEnvironment { get }
    /// One pass.
    func reconcileAll() async
}

extension StoreController {
    static var resync: Duration { .seconds(5) }
    var store: ObjectStore { environment.store }
    var logger: Logger { environment.logger }
    var now: @Sendable () -> Date { environment.now }

    /// Reconciles until cancelled.
    func run() async {
        await ControllerLoop.run(store: store, watching: Self.watchedTypes, resync: Self.resync, logger: logger) {
            await reconcileAll()
        }
    }
}
