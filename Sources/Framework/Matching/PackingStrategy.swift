/// How `OfferPacker` chooses among the offers a task fits in. Tasks are always
/// placed in the order given.
public enum PackingStrategy: Hashable, Sendable {
    /// The first offer, in the order given, that can take the task.
    case firstFit
    /// The offer that would have the least left after taking the task: the sum, over
    /// cpus, mem, disk, gpus and ports, of what would be left divided by the largest
    /// amount of that resource any of the offers had. Ties go to the earlier offer.
    /// Keeps big offers whole for big tasks.
    case bestFit
}
