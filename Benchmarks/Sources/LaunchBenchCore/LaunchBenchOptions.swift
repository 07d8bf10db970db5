/// The command line of `LaunchBench`, parsed without touching the system.
///
/// ```
/// LaunchBench [--tasks N] [--rounds R] [--agora PATH] [--command NAME]
///             [--cpus C] [--mem MB] [--timeout SECONDS] [--isolation cgroups|posix]
///             [--allocation-interval DURATION] [--startup-samples N]
/// ```
public struct LaunchBenchOptions: Equatable, Sendable {
    /// Tasks launched through Agora, and processes spawned by the raw loop, per round.
    public var tasks = 1000
    /// Rounds, each one raw loop then one Agora run (alternating).
    public var rounds = 3
    /// The `agora` binary that runs the local cluster.
    public var agoraPath = "../.build/debug/agora"
    /// The program every task runs, and the raw loop spawns: a name looked up in
    /// `PATH`, or a path.
    public var command = "true"
    /// cpus of each task; the tasks per offer follow from it.
    public var cpusPerTask = 0.01
    /// mem (MB) of each task.
    public var memPerTask = 4.0
    /// Seconds an Agora run may take before it is given up as failed.
    public var timeoutSeconds = 300.0
    /// Passed to `agora local --isolation` when set; the cluster's default otherwise.
    public var isolation: String?
    /// Passed to `agora local --allocation-interval` when set (e.g. `1s`, `100ms`).
    public var allocationInterval: String?
    /// How many times the raw loop also starts `agora-executor` (the one beside `agora`)
    /// outside any agent (it exits at once), to time the executor binary's start; 0 skips it.
    public var startupSamples = 200

    public init() {}

    /// The usage text printed for `--help` and with every parse error.
    public static let usage = """
        usage: LaunchBench [--tasks N] [--rounds R] [--agora PATH] [--command NAME]
                           [--cpus C] [--mem MB] [--timeout SECONDS] [--isolation cgroups|posix]
                           [--allocation-interval DURATION] [--startup-samples N]
          defaults: --tasks 1000 --rounds 3 --agora ../.build/debug/agora --command true
                    --cpus 0.01 --mem 4 --timeout 300 --startup-samples 200
        """

    /// Parses `arguments` (without the program name).
    ///
    /// - Throws: `LaunchBenchUsageError` naming the flag and the value that was wrong;
    ///   `.helpRequested` for `--help`.
    public static func parse(_ arguments: [String]) throws(LaunchBenchUsageError) -> LaunchBenchOptions {
        var options = LaunchBenchOptions()
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            if flag == "--help" || flag == "-h" { throw .helpRequested }
            guard let value = remaining.popFirst() else {
                if knownFlags.contains(flag) { throw .missingValue(flag: flag) }
                throw .unknownFlag(flag)
            }
            switch flag {
            case "--tasks": options.tasks = try positiveInt(value, flag)
            case "--rounds": options.rounds = try positiveInt(value, flag)
            case "--agora": options.agoraPath = try nonEmpty(value, flag)
            case "--command": options.command = try nonEmpty(value, flag)
            case "--cpus": options.cpusPerTask = try positiveDouble(value, flag)
            case "--mem": options.memPerTask = try positiveDouble(value, flag)
            case "--timeout": options.timeoutSeconds = try positiveDouble(value, flag)
            case "--isolation":
                guard ["cgroups", "posix"].contains(value) else {
                    throw .invalidValue(flag: flag, value: value, expected: "cgroups or posix")
                }
                options.isolation = value
            case "--allocation-interval": options.allocationInterval = try nonEmpty(value, flag)
            case "--startup-samples":
                guard let count = Int(value), count >= 0 else {
                    throw .invalidValue(flag: flag, value: value, expected: "a whole number, 0 or more")
                }
                options.startupSamples = count
            default: throw .unknownFlag(flag)
            }
        }
        return options
    }

    private static let knownFlags: Set<String> = [
        "--tasks", "--rounds", "--agora", "--command", "--cpus", "--mem", "--timeout", "--isolation",
        "--allocation-interval", "--startup-samples",
    ]

    private static func positiveInt(_ value: String, _ flag: String) throws(LaunchBenchUsageError) -> Int {
        guard let number = Int(value), number > 0 else {
            throw .invalidValue(flag: flag, value: value, expected: "a whole number above 0")
        }
        return number
    }

    private static func positiveDouble(_ value: String, _ flag: String) throws(LaunchBenchUsageError) -> Double {
        guard let number = Double(value), number > 0, number.isFinite else {
            throw .invalidValue(flag: flag, value: value, expected: "a number above 0")
        }
        return number
    }

    private static func nonEmpty(_ value: String, _ flag: String) throws(LaunchBenchUsageError) -> String {
        guard !value.isEmpty else { throw .invalidValue(flag: flag, value: value, expected: "a non-empty value") }
        return value
    }
}

/// What was wrong with `LaunchBench`'s command line.
public enum LaunchBenchUsageError: Error, Equatable, Sendable, CustomStringConvertible {
    case helpRequested
    case unknownFlag(String)
    case missingValue(flag: String)
    case invalidValue(flag: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .helpRequested: "help requested"
        case .unknownFlag(let flag): "unknown argument \(flag)"
        case .missingValue(let flag): "\(flag) needs a value"
        case .invalidValue(let flag, let value, let expected): "\(flag) \(value): expected \(expected)"
        }
    }
}
