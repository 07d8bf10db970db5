import ArgumentParser

/// The `agora` executable: one binary for every role in an Agora cluster.
@main
struct Agora: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agora",
        abstract: "Agora: a two-level resource-offer cluster manager in the lineage of Apache Mesos.",
        discussion: """
            The master pools the resources of its agents and offers them to frameworks, \
            which decide what to run on them. Run `agora doctor` to see what this host \
            would offer as an agent.
            """,
        version: AgoraVersion.current,
        subcommands: [MasterCommand.self, AgentCommand.self, LocalCommand.self, RunCommand.self, ClusterCommand.self, TasksCommand.self, FrameworksCommand.self, MarathonCommand.self, AppCommand.self, KubeCommand.self, SimulateCommand.self, Doctor.self]
    )
}

/// The version printed by `agora --version` and reported to peers.
enum AgoraVersion {
    static let current = "0.1.0"
}
