import Foundation
import FoundationNetworking
import Framework
import Testing

/// A task's files stay readable after it ended and the agent forgot it (as
/// `agora app logs` of a crashed instance needs), while its sandbox is kept.
@Suite(.timeLimit(.minutes(2)))
struct FinishedTaskFilesTests {
    @Test func theOutputOfAFinishedAndForgottenTaskCanStillBeRead() async throws {
        try await TestCluster.with(agentResources: ["cpus:1;mem:512"]) { cluster in
            let marker = "finished-\(UUID().uuidString.prefix(8))"
            let run = try cluster.run(["--", "echo \(marker)"])
            #expect(await run.waitForExit(timeout: .seconds(60)) == 0, "stdout: \(run.stdout)")

            // The master's record of the ended task names its framework and agent.
            var task: [String: Any] = [:]
            _ = try await cluster.waitForState { state in
                task = (state["completedTasks"] as? [[String: Any]] ?? []).first { $0["state"] as? String == "TASK_FINISHED" } ?? [:]
                return !task.isEmpty
            }
            let taskID = try #require(task["id"] as? String), frameworkID = try #require(task["frameworkID"] as? String)
            let agents = try await cluster.state()["agents"] as? [[String: Any]] ?? []
            let agentHTTP = try #require(agents.first?["httpAddress"] as? String)

            // Wait until the agent no longer tracks the task: only its completed list has it.
            let deadline = ContinuousClock.now + .seconds(30)
            var forgotten = false
            while !forgotten, ContinuousClock.now < deadline {
                let (data, _) = try await URLSession.shared.data(from: URL(string: agentHTTP + "/state")!)
                let state = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
                let live = (state["tasks"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == taskID }
                let completed = (state["completedTasks"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == taskID }
                forgotten = !live && completed
                if !forgotten { try await Task.sleep(for: .milliseconds(100)) }
            }
            try #require(forgotten, "the agent did not move \(taskID) to its completed tasks")

            let output = try await TaskFiles.read(agentHTTP: agentHTTP, frameworkID: frameworkID, taskID: taskID, file: "stdout")
            #expect(String(decoding: output, as: UTF8.self).contains(marker))
        }
    }
}
