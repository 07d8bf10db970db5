import Glibc

/// Starts a process inside given cgroups, for a parent that lives in other cgroups (a
/// shared executor starting each task in the task's own container).
///
/// Cgroup v1 lets single threads move: a short-lived thread moves itself into the
/// target cgroups (writing `0` to each `tasks` file names the writing thread) and
/// spawns from there, so the child is born inside and nothing it starts can escape.
/// Cgroup v2 moves whole processes only: the child is moved by pid right after the
/// spawn, which leaves a window of microseconds in which a child it forks at once
/// would stay outside (the v2 remedy, `clone3(CLONE_INTO_CGROUP)`, is not reachable
/// through `posix_spawn`).
enum CgroupEntry {
    /// Runs `spawn` so that the process it starts lands in `cgroups`; returns its pid.
    static func spawn(into cgroups: [String], _ spawn: () throws(SpawnError) -> pid_t) throws(SpawnError) -> pid_t {
        if cgroups.allSatisfy({ access($0 + "/tasks", W_OK) == 0 }) {
            return try onFreshThread { () throws(SpawnError) -> pid_t in
                for directory in cgroups { try write("0", to: directory + "/tasks") }
                return try spawn()
            }
        }
        let pid = try spawn()
        do {
            for directory in cgroups { try write(String(pid), to: directory + "/cgroup.procs") }
        } catch {
            // Outside its limits the process must not run: end it before anyone sees it.
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            throw error
        }
        return pid
    }

    private static func write(_ value: String, to path: String) throws(SpawnError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SpawnError(.cgroupFailed, "cannot open \(path): \(GlibcExtensions.errorText(errno))")
        }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written >= 0 else {
            throw SpawnError(.cgroupFailed, "cannot join cgroup \(path): \(GlibcExtensions.errorText(errno))")
        }
    }

    /// Runs `body` on a new thread and waits for it, so the thread's cgroup moves die with it.
    private static func onFreshThread(_ body: () throws(SpawnError) -> pid_t) throws(SpawnError) -> pid_t {
        try withoutActuallyEscaping(body) { body throws(SpawnError) -> pid_t in
            let work = ThreadWork(body)
            let context = Unmanaged.passRetained(work).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { context in
                let work = Unmanaged<ThreadWork>.fromOpaque(context!).takeRetainedValue()
                work.run()
                return nil
            }, context)
            guard rc == 0 else {
                Unmanaged<ThreadWork>.fromOpaque(context).release()
                throw SpawnError(.spawnFailed, "cannot start a thread to spawn from: \(GlibcExtensions.errorText(rc))")
            }
            pthread_join(thread, nil)
            return try work.result!.get()
        }
    }

    /// The body and result of one `onFreshThread` call; the caller waits for the thread,
    /// so the two never touch it at the same time.
    private final class ThreadWork: @unchecked Sendable {
        let body: () throws(SpawnError) -> pid_t
        var result: Result<pid_t, SpawnError>?

        init(_ body: @escaping () throws(SpawnError) -> pid_t) { self.body = body }

        func run() {
            do throws(SpawnError) { result = .success(try body()) } catch { result = .failure(error) }
        }
    }
}
