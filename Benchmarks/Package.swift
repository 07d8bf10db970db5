// swift-tools-version: 6.1
import PackageDescription

/// Agora's benchmarks, kept out of the main package so its build stays lean.
/// Run them with `make -C Benchmarks run`; results go to ../BENCHMARKS.md.
let package = Package(
    name: "AgoraBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Agora", path: ".."),
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
            name: "MessagingBench",
            dependencies: [
                .product(name: "Messaging", package: "Agora"),
                .product(name: "AgoraProto", package: "Agora"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
