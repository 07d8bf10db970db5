import Synchronization

/// A registry that forgets everything when the process ends: for tests and for
/// masters embedded in a test process.
public final class InMemoryRegistry: Registry {
    private let state: Mutex<RegistrySnapshot>

    public init(_ snapshot: RegistrySnapshot = RegistrySnapshot()) {
        state = Mutex(snapshot)
    }

    public func recover() throws -> RegistrySnapshot {
        state.withLock { $0 }
    }

    public func apply(_ changes: [RegistryChange]) throws {
        state.withLock { snapshot in
            for change in changes { snapshot.apply(change) }
        }
    }
}
