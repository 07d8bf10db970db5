/// An app waiting for instances to launch, as GET `/v2/queue` lists it (under `queue`).
///
/// Only keys the Python client's `MarathonQueueItem` accepts: in particular no `role`,
/// which Marathon 1.10 sends and the client rejects.
public struct QueueItemJSON: Sendable, Hashable, Codable {
    /// Instances still to launch.
    public var count: Int
    public var delay: QueueDelayJSON
    /// When the app started waiting.
    public var since: MarathonTimestamp
    public var app: AppDefinition
    public var processedOffersSummary: ProcessedOffersSummaryJSON

    public init(count: Int, delay: QueueDelayJSON, since: MarathonTimestamp, app: AppDefinition,
                processedOffersSummary: ProcessedOffersSummaryJSON) {
        self.count = count
        self.delay = delay
        self.since = since
        self.app = app
        self.processedOffersSummary = processedOffersSummary
    }
}

/// The launch backoff of a queued app: seconds until the next launch and whether that is past.
public struct QueueDelayJSON: Sendable, Hashable, Codable {
    public var timeLeftSeconds: Int
    public var overdue: Bool

    public init(timeLeftSeconds: Int, overdue: Bool) {
        self.timeLeftSeconds = timeLeftSeconds
        self.overdue = overdue
    }
}

/// What happened to the offers a queued app saw: how many were processed and unused,
/// and per reason how many reached that check (`processed`) and failed it (`declined`).
public struct ProcessedOffersSummaryJSON: Sendable, Hashable, Codable {
    public var processedOffersCount: Int
    public var unusedOffersCount: Int
    public var lastUnusedOfferAt: MarathonTimestamp?
    public var lastUsedOfferAt: MarathonTimestamp?
    /// Over the most recent offers.
    public var rejectSummaryLastOffers: [RejectionCountJSON]
    /// Over the offers since the current launch attempt began.
    public var rejectSummaryLaunchAttempt: [RejectionCountJSON]

    public init(processedOffersCount: Int, unusedOffersCount: Int, lastUnusedOfferAt: MarathonTimestamp? = nil,
                lastUsedOfferAt: MarathonTimestamp? = nil, rejectSummaryLastOffers: [RejectionCountJSON],
                rejectSummaryLaunchAttempt: [RejectionCountJSON]) {
        self.processedOffersCount = processedOffersCount
        self.unusedOffersCount = unusedOffersCount
        self.lastUnusedOfferAt = lastUnusedOfferAt
        self.lastUsedOfferAt = lastUsedOfferAt
        self.rejectSummaryLastOffers = rejectSummaryLastOffers
        self.rejectSummaryLaunchAttempt = rejectSummaryLaunchAttempt
    }

    /// Marathon's funnel: every reason in check order; each offer counts as `processed`
    /// for the checks it reached and `declined` for the first check it failed.
    ///
    /// `firstReasons` holds, per offer that was not used, the first reason it failed;
    /// `processedOffers` counts all offers seen (used ones too).
    public static func funnel(processedOffers: Int, firstReasons: [OfferRejectionReason]) -> [RejectionCountJSON] {
        var remaining = processedOffers
        var declinedByReason: [OfferRejectionReason: Int] = [:]
        for reason in firstReasons { declinedByReason[reason, default: 0] += 1 }
        return OfferRejectionReason.allCases.map { reason in
            let declined = declinedByReason[reason] ?? 0
            defer { remaining -= declined }
            return RejectionCountJSON(reason: reason, declined: declined, processed: remaining)
        }
    }
}

/// `{reason, declined, processed}` of one check in the funnel.
public struct RejectionCountJSON: Sendable, Hashable, Codable {
    public var reason: OfferRejectionReason
    public var declined: Int
    public var processed: Int

    public init(reason: OfferRejectionReason, declined: Int, processed: Int) {
        self.reason = reason
        self.declined = declined
        self.processed = processed
    }
}
