// swift-tools-version: 6.1
import PackageDescription

/// Agora: a two-level resource-offer cluster manager in the lineage of Apache Mesos.
///
/// Dependency rule (see ARCHITECTURE.md): Master, Agent and Framework depend on
/// Messaging, AgoraProto and Resources, never on each other; only Messaging
/// imports CZeroMQ; AgoraCLI wires everything together and holds no logic.
let package = Package(
    name: "Agora",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agora", targets: ["AgoraCLI"]),
        .executable(name: "agora-executor", targets: ["AgoraExecutor"]),
        .library(name: "AgoraProto", targets: ["AgoraProto"]),
        .library(name: "Resources", targets: ["Resources"]),
        .library(name: "Messaging", targets: ["Messaging"]),
        .library(name: "Master", targets: ["Master"]),
        .library(name: "Agent", targets: ["Agent"]),
        .library(name: "Framework", targets: ["Framework"]),
        .library(name: "Marathon", targets: ["Marathon"]),
        .library(name: "Kubernetes", targets: ["Kubernetes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // libzmq from Debian's libzmq3-dev (Scripts/install-deps.sh installs it). Not
        // looked up through pkg-config: Debian's libzmq.pc pulls in krb5's `-isystem`
        // flags, which SwiftPM refuses with a warning; the header and library are in
        // the standard paths, and the module map links `zmq`.
        .systemLibrary(name: "CZeroMQ"),
        .target(
            name: "AgoraProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "Resources",
            dependencies: ["AgoraProto"]
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "CZeroMQ",
                "AgoraProto",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A daemon's `/state` and `/metrics` documents, built on demand; shared by the
        // master and the agent.
        .target(name: "Snapshots"),
        .target(
            name: "Master",
            dependencies: [
                "AgoraProto", "Resources", "Messaging", "Snapshots",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Starting, reaping and killing process groups; shared by the agent and the
        // built-in executor.
        .target(name: "ProcessSupervision"),
        .target(
            name: "Agent",
            dependencies: [
                "AgoraProto", "Resources", "Messaging", "ProcessSupervision", "Snapshots",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The built-in executor for command tasks and task groups, kept apart from the
        // agent so that its program links no HTTP server, database or FoundationNetworking.
        .target(
            name: "BuiltInExecutor",
            dependencies: [
                "AgoraProto", "Messaging", "ProcessSupervision",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `agora-executor`, which the agent starts once per built-in executor (so once per
        // command task): the Swift runtime and Foundation are linked in statically, which
        // takes the dynamic loader's symbol binding out of every start.
        .executableTarget(
            name: "AgoraExecutor",
            dependencies: [
                "BuiltInExecutor",
                .product(name: "Logging", package: "swift-log"),
            ],
            // Compiled against the static runtime's modules too, so that the objects ask
            // for Foundation's static dependencies (CoreFoundation, ICU) at link time.
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            // GNU ld instead of gold, only to silence the toolchain's static Foundation
            // ("the use of `mktemp' is dangerous", from its own objects, not ours):
            // gold has no switch for it.
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-use-ld=bfd", "-Xlinker", "--no-warnings"])]
        ),
        .target(
            name: "Framework",
            dependencies: [
                "AgoraProto", "Resources", "Messaging",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The two frameworks that ship with Agora; like any framework they use only
        // the public Framework SDK.
        .target(
            name: "Marathon",
            dependencies: [
                "AgoraProto", "Resources", "Framework",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Kubernetes",
            dependencies: [
                "AgoraProto", "Resources", "Framework",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `agora simulate`: many simulated agents (and a tiny framework) against a real
        // master, for the scale and failover benchmarks.
        .target(
            name: "Simulator",
            dependencies: [
                "AgoraProto", "Resources", "Messaging", "Framework",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "AgoraCLI",
            dependencies: [
                "AgoraProto", "Resources", "Messaging", "Master", "Agent", "Framework", "Marathon", "Kubernetes", "Simulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Example frameworks, built with the package so they keep compiling.
        .executableTarget(
            name: "BatchFramework",
            dependencies: [
                "AgoraProto", "Resources", "Framework",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/BatchFramework",
            exclude: ["README.md", "jobs.json"]
        ),
        .executableTarget(
            name: "CustomExecutor",
            dependencies: [
                "AgoraProto", "Resources", "Framework",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/CustomExecutor",
            exclude: ["README.md"]
        ),
        .testTarget(
            name: "ResourcesTests",
            dependencies: [
                "Resources", "AgoraProto",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "AgoraProtoTests",
            dependencies: ["AgoraProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "AgoraProto"]),
        .testTarget(name: "SnapshotsTests", dependencies: ["Snapshots"]),
        .testTarget(
            name: "MasterTests",
            dependencies: [
                "Master", "Resources", "AgoraProto",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "BuiltInExecutor", "ProcessSupervision", "Resources", "AgoraProto"]
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Master", "Agent", "Resources", "AgoraProto", "Messaging"]
        ),
        .testTarget(name: "FrameworkTests", dependencies: ["Framework", "Messaging", "AgoraProto", "Resources"]),
        .testTarget(
            name: "MarathonTests",
            dependencies: ["Marathon", "Framework", "AgoraProto", "Resources"],
            exclude: ["Fixtures"]
        ),
        // Helpers shared by test targets (the real kubectl, run against an API server).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AgoraCLITests", dependencies: ["AgoraCLI"]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "Master", "Messaging", "AgoraProto", "Resources"]),
        .testTarget(
            name: "KubernetesTests",
            dependencies: [
                "Kubernetes", "Framework", "AgoraProto", "Resources", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["AgoraProto", "Resources", "Messaging", "Master", "Agent", "Framework", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
