/// How a child process ended.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// The process called `exit` (or returned from `main`) with `code` (0…255).
    case exited(code: Int32)
    /// The process was terminated by `signal`.
    case signaled(signal: Int32)

    /// Reported when a registered child was reaped by other code in this process, so
    /// its real status is lost (see ``ChildProcessMonitor``).
    public static let unknown = ExitStatus.exited(code: -1)

    /// Whether the process exited normally with status 0.
    public var isSuccess: Bool { self == .exited(code: 0) }

    /// Decodes a `waitpid` status word (only exit and termination, never "stopped").
    public init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        if signal == 0 {
            self = .exited(code: (waitStatus >> 8) & 0xff)
        } else {
            self = .signaled(signal: signal)
        }
    }

    /// "exited with status 3", "killed by signal 9 (SIGKILL)".
    public var description: String {
        switch self {
        case .exited(let code) where code < 0:
            return "exit status unknown (the process was reaped elsewhere)"
        case .exited(let code):
            return "exited with status \(code)"
        case .signaled(let signal):
            if let name = ExitStatus.signalName(signal) {
                return "killed by signal \(signal) (\(name))"
            }
            return "killed by signal \(signal)"
        }
    }

    /// The conventional name of a Linux signal number (`9` → `SIGKILL`).
    public static func signalName(_ signal: Int32) -> String? {
        let names = [
            "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
            "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
            "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
            "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
        ]
        guard signal >= 1, Int(signal) <= names.count else { return nil }
        return names[Int(signal) - 1]
    }
}
