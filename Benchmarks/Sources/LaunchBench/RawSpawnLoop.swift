import Foundation

/// The physical limit: spawning a program with `posix_spawn` and reaping it with
/// `waitpid`, one after another, with no cluster in between.
enum RawSpawnLoop {
    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    /// Spawns `path` (`argv` = `[path] + arguments`, this process's environment, stdin,
    /// stdout and stderr on /dev/null) `count` times, waiting for each before the next.
    ///
    /// - Returns: the seconds each spawn-and-reap took, in order.
    /// - Throws: `SpawnError` when `posix_spawn` or `waitpid` fails.
    static func run(_ path: String, arguments: [String] = [], count: Int) throws -> [Double] {
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }

        let clock = ContinuousClock()
        var durations: [Double] = []
        durations.reserveCapacity(count)
        for _ in 0..<count {
            let start = clock.now
            var pid: pid_t = 0
            let spawned = argv.withUnsafeBufferPointer { argvPointer in
                posix_spawn(&pid, path, &actions, nil, argvPointer.baseAddress!, environ)
            }
            guard spawned == 0 else {
                throw SpawnError(description: "posix_spawn \(path): \(String(cString: strerror(spawned)))")
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else {
                    throw SpawnError(description: "waitpid \(pid): \(String(cString: strerror(errno)))")
                }
            }
            let elapsed = clock.now - start
            durations.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return durations
    }
}
