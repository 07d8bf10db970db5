import Glibc

/// Ends a process group the way Mesos does: SIGTERM, a grace period, then SIGKILL.
public enum KillPolicy {
    /// Sends SIGTERM (and SIGCONT, so stopped processes see it) to every process in
    /// group `pgid`, waits up to `gracePeriod` for the group leader (pid `pgid`, a child
    /// registered with `monitor`) to exit, then SIGKILLs the group if it has not. Once
    /// the leader is gone, SIGKILLs the group again so that no descendant outlives it.
    ///
    /// Returns how the leader ended. Processes that left the group (`setsid`,
    /// `setpgid`) are out of reach; cgroup destruction catches those.
    public static func terminate(
        processGroup pgid: pid_t,
        gracePeriod: Duration,
        monitor: ChildProcessMonitor = .shared
    ) async -> ExitStatus {
        precondition(pgid > 1, "process group \(pgid) would signal more than one task's processes")
        var status: ExitStatus?
        if gracePeriod > .zero {
            kill(-pgid, SIGTERM)
            kill(-pgid, SIGCONT)
            status = await monitor.waitForExit(pgid, timeout: gracePeriod)
        }
        if status == nil {
            kill(-pgid, SIGKILL)
            status = await monitor.waitForExit(pgid)
        }
        kill(-pgid, SIGKILL)
        return status ?? .unknown
    }
}
