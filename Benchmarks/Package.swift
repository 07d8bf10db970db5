// swift-tools-version: 6.1
import PackageDescription

/// Agora's benchmarks, kept out of the main package so its build stays lean.
/// Run them with `make -C Benchmarks run`; results go to ../BENCHMARKS.md.
let package = Package(
    name: "AgoraBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Agora", path: ".."),
        // Already in the graph through Agora; named so LaunchBench can quiet the driver's log.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "AllocatorBench",
            dependencies: [
                .product(name: "Master", package: "Agora"),
                .product(name: "Resources", package: "Agora"),
            ]
        ),
        .executableTarget(
            name: "FailoverBench",
            dependencies: [
                .product(name: "Master", package: "Agora"),
                .product(name: "Messaging", package: "Agora"),
                .product(name: "AgoraProto", package: "Agora"),
                .product(name: "Resources", package: "Agora"),
            ]
        ),
        .target(
            name: "LaunchBenchCore"
        ),
        .executableTarget(
            name: "LaunchBench",
            dependencies: [
                "LaunchBenchCore",
                .product(name: "Framework", package: "Agora"),
                .product(name: "AgoraProto", package: "Agora"),
                .product(name: "Resources", package: "Agora"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LaunchBenchCoreTests",
            dependencies: ["LaunchBenchCore"]
        ),
        .executableTarget(
            name: "MessagingBench",
            dependencies: [
                .product(name: "Messaging", package: "Agora"),
                .product(name: "AgoraProto", package: "Agora"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
