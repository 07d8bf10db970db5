import Foundation
@testable import Kubernetes

/// A scratch directory removed when the value goes away.
final class APIScratchDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("agora-kube-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var databasePath: String { path + "/objects.sqlite" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum APIFixtures {
    static func pod(_ name: String, labels: [String: String] = [:], nodeName: String? = nil) -> JSONValue {
        var pod: JSONValue = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": ["containers": [["name": "main", "image": "busybox", "command": ["sleep", "3600"]]]],
        ]
        if let nodeName { pod[path: ["spec", "nodeName"]] = .string(nodeName) }
        return pod
    }

    static func deployment(_ name: String, replicas: Int64 = 2, image: String = "nginx:1.25") -> JSONValue {
        [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name)],
            "spec": [
                "replicas": .int(replicas),
                "selector": ["matchLabels": ["app": .string(name)]],
                "template": [
                    "metadata": ["labels": ["app": .string(name)]],
                    "spec": ["containers": [["name": "nginx", "image": .string(image)]]],
                ],
            ],
        ]
    }
}

extension AsyncStream where Element == WatchEvent {
    /// The next `count` events, or fewer if the stream ends first.
    func first(_ count: Int) async -> [WatchEvent] {
        var events: [WatchEvent] = []
        for await event in self {
            events.append(event)
            if events.count == count { break }
        }
        return events
    }
}
