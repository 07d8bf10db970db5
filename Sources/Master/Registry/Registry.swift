/// The master's durable memory: what must survive a master restart.
///
/// It holds the admitted, unreachable and gone agents, the frameworks (with their
/// failover deadlines while disconnected), the role weights and the IDs of past
/// master runs (the prefix of every ID a run hands out, so no ID is reused). Tasks
/// are not stored: they are rebuilt from the agents re-registering, as in Mesos.
///
/// The master reads it once at start (`recover()`) and then writes the changes each
/// core input produced with one `apply(_:)` call, before sending any message that
/// depends on them. Implementations must apply a batch atomically: all or nothing.
/// This is the seam for a later etcd-backed registry shared by several masters.
public protocol Registry: Sendable {
    /// Everything stored; an empty snapshot for a new registry.
    /// - Throws: `RegistryError` when the store cannot be read or holds invalid data.
    func recover() throws -> RegistrySnapshot

    /// Applies `changes` in order, atomically and durably.
    /// - Throws: `RegistryError` when they could not be stored; then none of them is.
    func apply(_ changes: [RegistryChange]) throws
}
