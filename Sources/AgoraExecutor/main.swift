import BuiltInExecutor
import Foundation
import Logging

// `agora-executor`: the built-in executor, started by an agent for command tasks (one
// shared executor per framework per agent) and task groups, never by hand. It is its own
// small executable, installed next to `agora`, so that starting one costs little (see
// BENCHMARKS.md, "Launch path").
// The agent passes everything through the environment: AGORA_AGENT_ENDPOINT,
// AGORA_FRAMEWORK_ID, AGORA_EXECUTOR_ID, AGORA_SANDBOX, AGORA_RECOVERY_TIMEOUT_SECONDS and,
// optionally, AGORA_LOG_LEVEL.

/// Exit status for a start without what the executor needs (`EX_USAGE`).
let usageError: Int32 = 64

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("agora-executor: \(message)\n".utf8))
    exit(usageError)
}

let arguments = CommandLine.arguments.dropFirst()
if !arguments.isEmpty {
    fail("takes no arguments (got \(arguments.joined(separator: " "))); an agent starts it with AGORA_* environment variables")
}

let environment = ProcessInfo.processInfo.environment
let levelName = environment["AGORA_LOG_LEVEL"] ?? "info"
guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
    fail("invalid AGORA_LOG_LEVEL \"\(levelName)\": use trace, debug, info, notice, warning, error or critical")
}
// Logs go to standard error, which the agent sends to the sandbox's executor.stderr.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = level
    return handler
}

let executor: BuiltInExecutor
do {
    executor = try BuiltInExecutor(environment: environment, logger: Logger(label: "agora.executor"))
} catch {
    fail("\(error)")
}
await executor.run()
