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
