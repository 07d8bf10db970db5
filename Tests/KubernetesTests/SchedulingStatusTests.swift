import AgoraProto
import Foundation
@testable import Kubernetes
import Testing

@Suite struct SchedulingStatusTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func run(_ states: [String: Agora_V1_TaskState], attempt: Int = 0) -> PodRun {
        var run = PodRun(agentID: "A", nodeName: "a", hostIP: "10.0.0.5", attempt: attempt, launchedAt: start,
                         containers: [:])
        for (name, state) in states {
            run.containers[name] = PodRun.ContainerTask(taskID: "pod.default.web.\(name).0a1b2c3d.\(attempt)")
            _ = run.apply(taskID: "pod.default.web.\(name).0a1b2c3d.\(attempt)", state: state, at: start.addingTimeInterval(2),
                          exitCode: state == .taskFinished ? 0 : state == .taskFailed ? 3 : nil, message: "")
        }
        return run
    }

    func containerStatus(_ status: JSONValue, _ name: String) -> JSONValue? {
        status["containerStatuses"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    func condition(_ status: JSONValue, _ type: String) -> String? {
        status["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }?["status"]?.stringValue
    }

    @Test func anUnplacedPodIsPendingWithTheSchedulersReason() {
        let pod = makePod("web", containers: [container("c")])
        let status = PodStatusBuilder.status(of: pod, facts: .init(unschedulable: "0/1 nodes are available: 1 Insufficient memory."),
                                             now: start)
        #expect(status["phase"] == "Pending")
        let scheduled = status["conditions"]?.arrayValue?.first
        #expect(scheduled?["type"] == "PodScheduled")
        #expect(scheduled?["status"] == "False")
        #expect(scheduled?["reason"] == "Unschedulable")
        #expect(scheduled?["message"] == "0/1 nodes are available: 1 Insufficient memory.")
        #expect(status["qosClass"] == "BestEffort")
    }

    @Test func aPodWithoutCommandSaysImagesAreNotSupported() {
        let pod = makePod("web", containers: [container("nginx", command: [])])
        let status = PodStatusBuilder.status(of: pod, facts: .init(), now: start)
        #expect(status["phase"] == "Pending")
        #expect(containerStatus(status, "nginx")?[path: ["state", "waiting", "reason"]] == "ImagesNotSupported")
        #expect(status["conditions"]?.arrayValue?.first?["reason"] == "ImagesNotSupported")
    }

    @Test func runningTasksMakeARunningReadyPod() {
        let pod = makePod("web", containers: [container("a", resources: ["limits": ["cpu": "1", "memory": "64Mi"]]),
                                              container("b", resources: ["limits": ["cpu": "1", "memory": "64Mi"]])])
        let starting = PodStatusBuilder.status(of: pod, facts: .init(run: run(["a": .taskRunning, "b": .taskStaging])), now: start)
        #expect(starting["phase"] == "Running")
        #expect(condition(starting, "Ready") == "False")
        #expect(containerStatus(starting, "b")?[path: ["state", "waiting", "reason"]] == "ContainerCreating")

        let running = PodStatusBuilder.status(of: pod, facts: .init(run: run(["a": .taskRunning, "b": .taskRunning])),
                                              now: start.addingTimeInterval(5))
        #expect(running["phase"] == "Running")
        for type in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] { #expect(condition(running, type) == "True") }
        let a = containerStatus(running, "a")
        #expect(a?["ready"] == true)
        #expect(a?["started"] == true)
        #expect(a?["restartCount"] == 0)
        #expect(a?["imageID"] == "")
        #expect(a?["image"] == "busybox")
        #expect(a?["containerID"] == "agora://pod.default.web.a.0a1b2c3d.0")
        #expect(a?[path: ["state", "running", "startedAt"]] == .string(ObjectStore.timestamp(start.addingTimeInterval(2))))
        #expect(running["hostIP"] == "10.0.0.5")
        #expect(running["podIP"] == "10.0.0.5")
        #expect(running["qosClass"] == "Guaranteed")

        // A condition that did not change keeps its transition time.
        var later = pod
        later["status"] = running
        let again = PodStatusBuilder.status(of: later, facts: .init(run: run(["a": .taskRunning, "b": .taskRunning])),
                                            now: start.addingTimeInterval(60))
        #expect(again["conditions"] == running["conditions"])
    }

    @Test func endedGroupsFollowTheRestartPolicy() {
        let succeeded = run(["a": .taskFinished, "b": .taskFinished])
        let failed = run(["a": .taskFailed, "b": .taskKilled])
        #expect(PodLifecycle.decide(restartPolicy: "Never", run: succeeded, now: start) == .finished(phase: "Succeeded"))
        #expect(PodLifecycle.decide(restartPolicy: "Never", run: failed, now: start) == .finished(phase: "Failed"))
        #expect(PodLifecycle.decide(restartPolicy: "OnFailure", run: succeeded, now: start) == .finished(phase: "Succeeded"))
        #expect(PodLifecycle.decide(restartPolicy: "OnFailure", run: failed, now: start) == .relaunch(delay: 10))
        #expect(PodLifecycle.decide(restartPolicy: nil, run: succeeded, now: start) == .relaunch(delay: 10))
        #expect(PodLifecycle.decide(restartPolicy: "Always", run: run(["a": .taskFailed], attempt: 3), now: start)
            == .relaunch(delay: 80))
        #expect((0...7).map { PodLifecycle.backoff(restartCount: $0, ranFor: 1) } == [10, 20, 40, 80, 160, 300, 300, 300])
        #expect(PodLifecycle.backoff(restartCount: 6, ranFor: 700) == 10)
    }

    @Test func terminatedContainersShowExitCodesAndCrashLoopsShowBackOff() {
        let pod = makePod("web", containers: [container("a")], spec: ["restartPolicy": "Never"])
        let failed = run(["a": .taskFailed])
        let done = PodStatusBuilder.status(of: pod, facts: .init(run: failed, finalPhase: "Failed"), now: start)
        #expect(done["phase"] == "Failed")
        #expect(containerStatus(done, "a")?[path: ["state", "terminated", "exitCode"]] == 3)
        #expect(containerStatus(done, "a")?[path: ["state", "terminated", "reason"]] == "Error")
        #expect(condition(done, "Ready") == "False")
        let finished = PodStatusBuilder.status(of: pod, facts: .init(run: run(["a": .taskFinished]), finalPhase: "Succeeded"), now: start)
        #expect(containerStatus(finished, "a")?[path: ["state", "terminated", "reason"]] == "Completed")

        let crashing = PodStatusBuilder.status(of: pod, facts: .init(run: run(["a": .taskFailed], attempt: 2),
                                                                     backoffUntil: start.addingTimeInterval(40)), now: start)
        #expect(crashing["phase"] == "Running")
        let a = containerStatus(crashing, "a")
        #expect(a?[path: ["state", "waiting", "reason"]] == "CrashLoopBackOff")
        #expect(a?[path: ["state", "waiting", "message"]] == "back-off 40s restarting failed container=a pod=web")
        #expect(a?[path: ["lastState", "terminated", "exitCode"]] == 3)
        #expect(a?["restartCount"] == 2)
    }

    @Test func qosClassFollowsRequestsAndLimits() {
        #expect(PodStatusBuilder.qosClass([container("a")]) == "BestEffort")
        #expect(PodStatusBuilder.qosClass([container("a", resources: ["requests": ["cpu": "1"]])]) == "Burstable")
        #expect(PodStatusBuilder.qosClass([container("a", resources: [
            "limits": ["cpu": "1", "memory": "1Gi"], "requests": ["cpu": "1000m", "memory": "1Gi"],
        ])]) == "Guaranteed")
    }
}
