import Foundation

/// The sentences of `agora app why`: why an app's instances are waiting, from its
/// launch-queue entry (Marathon's offer-rejection summary), with no I/O.
enum AppWaitExplanation {
    /// Marathon's `NoOfferMatchReason` names in the order its offer matcher checks them.
    static let reasonOrder = [
        "UnfulfilledRole", "UnfulfilledConstraint", "NoCorrespondingReservationFound", "AgentMaintenance",
        "InsufficientCpus", "InsufficientMemory", "InsufficientDisk", "InsufficientGpus", "InsufficientPorts",
        "DeclinedScarceResources",
    ]

    /// Explains a queued app: how many instances wait, whether launches are backed
    /// off, and what was wrong with the offers it saw last. `now` dates the queue entry.
    static func explain(_ entry: QueueEntryView, now: Date) -> [String] {
        var sentences: [String] = []
        let waiting = max(0, entry.count ?? 0)
        let target = entry.app?.instances
        let queued = entry.since.flatMap(AppFormat.date) == nil ? "" : ", queued \(AppFormat.age(entry.since, now: now))"
        if waiting == 0 {
            sentences.append("No instance is waiting to be launched" + queued + ".")
        } else if let target, target >= waiting {
            sentences.append("\(waiting) of \(AppFormat.count(target, "instance")) \(waiting == 1 ? "is" : "are") waiting for offers\(queued).")
        } else {
            sentences.append("\(AppFormat.count(waiting, "instance")) \(waiting == 1 ? "is" : "are") waiting for offers\(queued).")
        }

        if let delay = entry.delay, let left = delay.timeLeftSeconds, left > 0, delay.overdue != true {
            sentences.append("Launches are backed off after failed attempts: the next try is in \(seconds(left)).")
        }

        let summary = entry.processedOffersSummary
        let rejections = summary?.rejectSummaryLastOffers ?? []
        let declined = rejections.filter { ($0.declined ?? 0) > 0 }.sorted { left, right in
            if left.declined != right.declined { return (left.declined ?? 0) > (right.declined ?? 0) }
            return rank(left.reason) < rank(right.reason)
        }
        let considered = max(rejections.compactMap(\.processed).max() ?? 0, declined.compactMap(\.declined).max() ?? 0)
        if considered == 1, let only = declined.first {
            sentences.append("The last offer was rejected: " + phrase(for: only.reason, subject: "it", count: 1, app: entry.app) + ".")
        } else if !declined.isEmpty {
            let phrases = declined.map { phrase(for: $0.reason, subject: String($0.declined ?? 0), count: $0.declined ?? 0, app: entry.app) }
            sentences.append("Of the last \(AppFormat.count(considered, "offer")): " + phrases.joined(separator: ", ") + ".")
        } else if considered > 0 {
            let verdict = considered == 1 ? "The last offer was not rejected" : "None of the last \(considered) offers was rejected"
            sentences.append(verdict + ", so launches should follow shortly.")
        } else if (summary?.processedOffersCount ?? 0) == 0, waiting > 0 {
            sentences.append("No offer has reached this app yet: the cluster may have no free resources, or they are being offered to other frameworks.")
        }
        return sentences
    }

    /// The answer when the app is not in the launch queue.
    static func nothingWaiting(_ app: AppView) -> String {
        let running = app.tasksRunning ?? 0
        let target = app.instances ?? 0
        var sentence = "nothing is waiting: \(running)/\(AppFormat.count(target, "instance")) running"
        if let deployment = app.deployments?.first {
            sentence += "; deployment \(deployment.id) is in progress"
        }
        return sentence
    }

    private static func rank(_ reason: String) -> Int {
        reasonOrder.firstIndex(of: reason) ?? reasonOrder.count
    }

    /// What `count` offers (named `subject`: a number, or "it") lacked for `reason`.
    private static func phrase(for reason: String, subject: String, count: Int, app: AppView?) -> String {
        let had = "\(subject) had"
        let were = count == 1 ? "\(subject) was" : "\(subject) were"
        switch reason {
        case "InsufficientMemory":
            return "\(had) too little memory" + need(app?.mem.map { "\(AppFormat.number($0)) MB" })
        case "InsufficientCpus":
            return "\(had) too few CPUs" + need(app?.cpus.map(AppFormat.number))
        case "InsufficientDisk":
            return "\(had) too little disk" + need(app?.disk.map { "\(AppFormat.number($0)) MB" })
        case "InsufficientGpus":
            return "\(had) too few GPUs" + need(app?.gpus.map(AppFormat.number))
        case "InsufficientPorts":
            let ports = app?.portDefinitions ?? []
            guard !ports.isEmpty else { return "\(had) too few free ports" }
            let fixed = app?.requirePorts == true
                ? ": exactly " + ports.map { String($0.port ?? 0) }.joined(separator: ", ") : ""
            return "\(had) too few free ports (app needs \(AppFormat.count(ports.count, "port"))\(fixed))"
        case "UnfulfilledConstraint":
            let constraints = app?.constraintTexts ?? []
            guard !constraints.isEmpty else { return "\(subject) did not meet the app's constraints" }
            return "\(subject) did not meet constraint\(constraints.count == 1 ? "" : "s") " + constraints.joined(separator: ", ")
        case "UnfulfilledRole":
            let roles = app?.acceptedResourceRoles ?? app?.role.map { [$0] } ?? []
            return "\(were) for roles the app does not accept" + (roles.isEmpty ? "" : " (it accepts \(roles.joined(separator: ", ")))")
        case "NoCorrespondingReservationFound":
            return "\(had) no reservation for the app"
        case "AgentMaintenance":
            return "\(subject) came from " + (count == 1 ? "an agent" : "agents") + " under maintenance"
        case "DeclinedScarceResources":
            return "\(were) kept for apps that need their scarce resources (GPUs)"
        default:
            return "\(were) rejected with reason \(reason)"
        }
    }

    private static func need(_ amount: String?) -> String {
        amount.map { " (app needs \($0))" } ?? ""
    }

    /// `42 s`, `3 min 5 s`.
    private static func seconds(_ value: Double) -> String {
        let total = Int(value.rounded(.up))
        return total < 120 ? "\(total) s" : "\(total / 60) min \(total % 60) s"
    }
}
