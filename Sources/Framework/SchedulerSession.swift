import AgoraProto

/// The subscription logic of a `SchedulerDriver`, with no I/O: when to SUBSCRIBE and
/// re-SUBSCRIBE, which events reach the scheduler, when the master counts as lost.
///
/// Every input is a method taking `now` (time since the driver started) and
/// returning directives for the driver to carry out in order; a periodic `tick`
/// stands in for timers. Tests drive it with made-up times.
struct SchedulerSession: Sendable {
    /// Retry and liveness timing.
    struct Timing: Sendable {
        /// Wait before the first SUBSCRIBE retry; doubles per retry up to `maximumBackoff`.
        var initialBackoff: Duration = .milliseconds(500)
        var maximumBackoff: Duration = .seconds(8)
        /// The master counts as lost after this many heartbeat intervals without an event.
        var missedHeartbeats = 3
        /// Used when SUBSCRIBED carries no heartbeat interval (Mesos' default).
        var defaultHeartbeatInterval: Duration = .seconds(15)
    }

    /// What the driver must do, in order.
    enum Directive: Sendable, Equatable {
        case send(Agora_V1_Scheduler_Call)
        case persistFrameworkID(String)
        case notifySubscribed(frameworkID: String, masterInfo: Agora_V1_MasterInfo)
        /// Tell the scheduler the master is lost; `reason` is for the log.
        case notifyDisconnected(reason: String)
        /// Hand an OFFERS, RESCIND, UPDATE, MESSAGE, FAILURE or ERROR event to the scheduler.
        case deliver(Agora_V1_Scheduler_Event)
    }

    let timing: Timing
    /// The info sent with SUBSCRIBE; carries the framework ID once known.
    private(set) var frameworkInfo: Agora_V1_FrameworkInfo
    private(set) var frameworkID: String?
    /// The transport is connected (as the DEALER last reported).
    private(set) var isConnected = false
    /// The master accepted our SUBSCRIBE on the current connection and is alive.
    private(set) var isSubscribed = false
    /// Roles the framework suppressed; sent with SUBSCRIBE so a re-subscription keeps them.
    private(set) var suppressedRoles: Set<String> = []
    private(set) var heartbeatInterval: Duration
    private var lastEventAt: Duration = .zero
    /// When to retry SUBSCRIBE while connected and not subscribed.
    private var nextSubscribeAt: Duration?
    private var backoff: Duration

    /// `frameworkID` (e.g. from a `FrameworkIDStore`) resumes that framework unless
    /// `frameworkInfo.id` is already set, which wins.
    init(frameworkInfo: Agora_V1_FrameworkInfo, frameworkID: String?, timing: Timing = Timing()) {
        self.timing = timing
        self.frameworkInfo = frameworkInfo
        if frameworkInfo.hasID, !frameworkInfo.id.value.isEmpty {
            self.frameworkID = frameworkInfo.id.value
        } else if let frameworkID, !frameworkID.isEmpty {
            self.frameworkID = frameworkID
            self.frameworkInfo.id.value = frameworkID
        } else {
            self.frameworkInfo.clearID()
        }
        self.heartbeatInterval = timing.defaultHeartbeatInterval
        self.backoff = timing.initialBackoff
    }

    /// The roles the framework subscribes with (`roles`, else the legacy `role`, else `*`).
    var roles: Set<String> {
        if !frameworkInfo.roles.isEmpty { return Set(frameworkInfo.roles) }
        if frameworkInfo.hasRole, !frameworkInfo.role.isEmpty { return [frameworkInfo.role] }
        return ["*"]
    }

    // MARK: - Inputs

    /// The DEALER connected (first time or again): every new connection subscribes,
    /// so the master routes to it.
    mutating func connected(now: Duration) -> [Directive] {
        var directives: [Directive] = []
        isConnected = true
        if isSubscribed {
            isSubscribed = false
            directives.append(.notifyDisconnected(reason: "the connection to the master was replaced"))
        }
        backoff = timing.initialBackoff
        directives.append(subscribe(now: now))
        return directives
    }

    /// The DEALER lost its connection; SUBSCRIBE waits until it is back.
    mutating func disconnected(now: Duration) -> [Directive] {
        isConnected = false
        nextSubscribeAt = nil
        guard isSubscribed else { return [] }
        isSubscribed = false
        return [.notifyDisconnected(reason: "the connection to the master was lost")]
    }

    /// An event from the master.
    mutating func received(_ event: Agora_V1_Scheduler_Event, now: Duration) -> [Directive] {
        lastEventAt = now
        switch event.type {
        case .subscribed:
            return subscribed(event.subscribed, now: now)
        case .heartbeat:
            return []
        case .error:
            var directives: [Directive] = [.deliver(event)]
            // The master answers calls from a framework it considers disconnected or
            // unknown with an ERROR asking to subscribe (again).
            if isSubscribed, event.error.message.lowercased().contains("subscribe") {
                isSubscribed = false
                backoff = timing.initialBackoff
                directives.append(.notifyDisconnected(reason: "the master asked to subscribe again"))
                if isConnected { directives.append(subscribe(now: now)) }
            }
            return directives
        default:
            // Before SUBSCRIBED (or after losing the master) events belong to a
            // subscription that is over; unacknowledged updates are sent again.
            guard isSubscribed else { return [] }
            return [.deliver(event)]
        }
    }

    /// The master refused a message: reported to the scheduler as an error.
    mutating func refused(_ refused: Agora_V1_Refused, now: Duration) -> [Directive] {
        lastEventAt = now
        var event = Agora_V1_Scheduler_Event()
        event.type = .error
        event.error.message = "the master refused a message: \(refused.reason)"
        return [.deliver(event)]
    }

    /// Time passed: detects a silent master and retries SUBSCRIBE with backoff.
    mutating func tick(now: Duration) -> [Directive] {
        if isSubscribed {
            guard now - lastEventAt > heartbeatInterval * timing.missedHeartbeats else { return [] }
            isSubscribed = false
            backoff = timing.initialBackoff
            var directives: [Directive] = [
                .notifyDisconnected(reason: "no event from the master for \(timing.missedHeartbeats) heartbeat intervals"),
            ]
            if isConnected { directives.append(subscribe(now: now)) }
            return directives
        }
        guard isConnected, let due = nextSubscribeAt, now >= due else { return [] }
        backoff = min(backoff * 2, timing.maximumBackoff)
        return [subscribe(now: now)]
    }

    /// The framework suppressed offers for `roles` (all its roles when empty).
    mutating func suppress(roles: [String]) {
        suppressedRoles.formUnion(roles.isEmpty ? self.roles : Set(roles))
    }

    /// The framework revived offers for `roles` (all when empty).
    mutating func revive(roles: [String]) {
        if roles.isEmpty {
            suppressedRoles.removeAll()
        } else {
            suppressedRoles.subtract(roles)
        }
    }

    // MARK: - Calls

    /// A call of `type` from this framework, or `nil` when not subscribed.
    func call(_ type: Agora_V1_Scheduler_Call.TypeEnum) -> Agora_V1_Scheduler_Call? {
        guard isSubscribed, let frameworkID else { return nil }
        return Self.call(type, frameworkID: frameworkID)
    }

    /// TEARDOWN for this framework, whether or not subscribed; `nil` without an ID.
    func teardownCall() -> Agora_V1_Scheduler_Call? {
        frameworkID.map { Self.call(.teardown, frameworkID: $0) }
    }

    var subscribeCall: Agora_V1_Scheduler_Call {
        var call = Agora_V1_Scheduler_Call()
        call.type = .subscribe
        if let frameworkID { call.frameworkID.value = frameworkID }
        call.subscribe.frameworkInfo = frameworkInfo
        call.subscribe.suppressedRoles = suppressedRoles.sorted()
        return call
    }

    static func call(_ type: Agora_V1_Scheduler_Call.TypeEnum, frameworkID: String) -> Agora_V1_Scheduler_Call {
        var call = Agora_V1_Scheduler_Call()
        call.type = type
        call.frameworkID.value = frameworkID
        return call
    }

    // MARK: - Steps

    private mutating func subscribe(now: Duration) -> Directive {
        nextSubscribeAt = now + backoff
        return .send(subscribeCall)
    }

    private mutating func subscribed(_ subscribed: Agora_V1_Scheduler_Event.Subscribed, now: Duration) -> [Directive] {
        let id = subscribed.frameworkID.value
        guard !id.isEmpty else {
            var event = Agora_V1_Scheduler_Event()
            event.type = .error
            event.error.message = "the master sent SUBSCRIBED without a framework ID"
            return [.deliver(event)]
        }
        if isSubscribed {
            if id == frameworkID { return [] }  // the answer to a retried SUBSCRIBE
            // A retried first SUBSCRIBE made the master register a second framework:
            // the first answer won; remove the duplicate so it holds no offers.
            return [.send(Self.call(.teardown, frameworkID: id))]
        }
        frameworkID = id
        frameworkInfo.id.value = id
        isSubscribed = true
        nextSubscribeAt = nil
        backoff = timing.initialBackoff
        heartbeatInterval = subscribed.heartbeatIntervalSeconds > 0
            ? .seconds(subscribed.heartbeatIntervalSeconds)
            : timing.defaultHeartbeatInterval
        return [.persistFrameworkID(id), .notifySubscribed(frameworkID: id, masterInfo: subscribed.masterInfo)]
    }
}
