import AgoraProto
import Resources

extension Agora_V1_TaskInfo {
    /// A task that runs `shell` under `/bin/sh -c` with the built-in command executor.
    ///
    /// - Parameters:
    ///   - id: the task ID, unique within the framework.
    ///   - resources: what the task may use, e.g. `try Resources(parsing: "cpus:0.1;mem:32")`;
    ///     must be part of the offer it is launched on.
    ///   - agentID: the agent of that offer.
    public static func command(id: String, name: String, shell: String, resources: Resources,
                               agentID: String) -> Agora_V1_TaskInfo {
        var command = Agora_V1_CommandInfo()
        command.shell = true
        command.value = shell
        return task(id: id, name: name, command: command, resources: resources, agentID: agentID)
    }

    /// A task that runs `executable` with `arguments` directly (no shell) with the
    /// built-in command executor; `argv[0]` is `executable`.
    public static func command(id: String, name: String, executable: String, arguments: [String],
                               resources: Resources, agentID: String) -> Agora_V1_TaskInfo {
        var command = Agora_V1_CommandInfo()
        command.shell = false
        command.value = executable
        command.arguments = [executable] + arguments
        return task(id: id, name: name, command: command, resources: resources, agentID: agentID)
    }

    private static func task(id: String, name: String, command: Agora_V1_CommandInfo, resources: Resources,
                             agentID: String) -> Agora_V1_TaskInfo {
        var task = Agora_V1_TaskInfo()
        task.taskID.value = id
        task.name = name
        task.agentID.value = agentID
        task.resources = resources.proto
        task.command = command
        return task
    }
}
