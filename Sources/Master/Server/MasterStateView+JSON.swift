import Foundation
import Snapshots

extension MasterStateView {
    /// The document as JSON, keys sorted and absent optionals left out, as `JSONEncoder`
    /// with `.sortedKeys` writes it, but several times faster: at 10k agents and 100k
    /// tasks the encoder took most of a second per `/state` document.
    public func jsonData() -> Data {
        var json = JSONOutput(reserving: 256 * (tasks.count + completedTasks.count) + 1_024 * agents.count + 4_096)
        json.object { object in
            object.field("address") { $0.string(address) }
            object.field("agents") { $0.array(agents) { $0.agent($1) } }
            object.field("completedTasks") { $0.array(completedTasks) { $0.task($1) } }
            object.field("frameworks") { $0.array(frameworks) { $0.framework($1) } }
            object.field("hostname") { $0.string(hostname) }
            object.field("masterID") { $0.string(masterID) }
            object.field("roleShares") { $0.dictionary(roleShares) { $0.number($1) } }
            object.field("startTime") { $0.number(startTime) }
            if let taskCounts { object.field("taskCounts") { $0.dictionary(taskCounts) { $0.number($1) } } }
            object.field("tasks") { $0.array(tasks) { $0.task($1) } }
            object.field("uptimeSeconds") { $0.number(uptimeSeconds) }
            object.field("version") { $0.string(version) }
        }
        return Data(json.bytes)
    }

    /// `tasks` as a listing for `/tasks`: each task's JSON as in `/state`, keyed by its
    /// framework's ID and its own.
    static func taskListing(_ tasks: [MasterStateView.Task]) -> JSONListing {
        var json = JSONOutput(reserving: 256 * tasks.count)
        var elements: [JSONListing.Element] = []
        elements.reserveCapacity(tasks.count)
        for task in tasks {
            let start = json.bytes.count
            json.task(task)
            elements.append(JSONListing.Element(range: start..<json.bytes.count, group: task.frameworkID, id: task.id))
        }
        return JSONListing(bytes: Data(json.bytes), elements: elements)
    }
}

/// Appends JSON to a byte buffer; the caller writes object keys in sorted order.
struct JSONOutput {
    private(set) var bytes: [UInt8] = []
    /// Per open object, whether no field has been written yet.
    private var isFirstField: [Bool] = []

    init(reserving capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Writes the fields `body` adds (with `field`) between braces.
    mutating func object(_ body: (inout JSONOutput) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        isFirstField.append(true)
        body(&self)
        isFirstField.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// One field of the innermost open object.
    mutating func field(_ key: String, _ value: (inout JSONOutput) -> Void) {
        if isFirstField[isFirstField.count - 1] {
            isFirstField[isFirstField.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        string(key)
        bytes.append(UInt8(ascii: ":"))
        value(&self)
    }

    mutating func array<Element>(_ elements: [Element], _ write: (inout JSONOutput, Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            write(&self, element)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func dictionary<Value>(_ dictionary: [String: Value], _ write: (inout JSONOutput, Value) -> Void) {
        object { object in
            for key in dictionary.keys.sorted() {
                object.field(key) { write(&$0, dictionary[key]!) }
            }
        }
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Integral values without a fraction (`16`, as `JSONEncoder`), others in Swift's
    /// shortest round-trip form; not-a-number and infinities (never in the view) as 0.
    mutating func number(_ value: Double) {
        guard value.isFinite else { return bytes.append(UInt8(ascii: "0")) }
        if value == value.rounded(), abs(value) < 9e15 {
            bytes.append(contentsOf: String(Int64(value)).utf8)
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    mutating func number(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func bool(_ value: Bool) {
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func resources(_ view: ResourcesView) {
        object { object in
            object.field("cpus") { $0.number(view.cpus) }
            object.field("disk") { $0.number(view.disk) }
            object.field("gpus") { $0.number(view.gpus) }
            object.field("mem") { $0.number(view.mem) }
            object.field("ports") { $0.string(view.ports) }
            object.field("text") { $0.string(view.text) }
        }
    }

    mutating func agent(_ agent: MasterStateView.Agent) {
        object { object in
            object.field("active") { $0.bool(agent.active) }
            object.field("attributes") { $0.dictionary(agent.attributes) { $0.string($1) } }
            object.field("free") { $0.resources(agent.free) }
            object.field("hostname") { $0.string(agent.hostname) }
            object.field("httpAddress") { $0.string(agent.httpAddress) }
            object.field("id") { $0.string(agent.id) }
            object.field("offered") { $0.resources(agent.offered) }
            object.field("registeredAt") { $0.number(agent.registeredAt) }
            if let state = agent.state { object.field("state") { $0.string(state) } }
            object.field("taskCount") { $0.number(agent.taskCount) }
            object.field("total") { $0.resources(agent.total) }
            if let since = agent.unreachableSince { object.field("unreachableSince") { $0.number(since) } }
            object.field("used") { $0.resources(agent.used) }
        }
    }

    mutating func framework(_ framework: MasterStateView.Framework) {
        object { object in
            object.field("connected") { $0.bool(framework.connected) }
            object.field("dominantShare") { $0.number(framework.dominantShare) }
            object.field("failoverTimeoutSeconds") { $0.number(framework.failoverTimeoutSeconds) }
            object.field("id") { $0.string(framework.id) }
            object.field("name") { $0.string(framework.name) }
            object.field("offers") { $0.array(framework.offers) { $0.offer($1) } }
            object.field("partitionAware") { $0.bool(framework.partitionAware) }
            object.field("roles") { $0.array(framework.roles) { $0.string($1) } }
            object.field("suppressedRoles") { $0.array(framework.suppressedRoles) { $0.string($1) } }
            object.field("taskCount") { $0.number(framework.taskCount) }
            object.field("user") { $0.string(framework.user) }
        }
    }

    mutating func offer(_ offer: MasterStateView.Offer) {
        object { object in
            object.field("agentID") { $0.string(offer.agentID) }
            object.field("id") { $0.string(offer.id) }
            object.field("resources") { $0.resources(offer.resources) }
            object.field("role") { $0.string(offer.role) }
        }
    }

    mutating func task(_ task: MasterStateView.Task) {
        object { object in
            object.field("agentID") { $0.string(task.agentID) }
            if let executorID = task.executorID { object.field("executorID") { $0.string(executorID) } }
            object.field("frameworkID") { $0.string(task.frameworkID) }
            object.field("id") { $0.string(task.id) }
            if let message = task.message { object.field("message") { $0.string(message) } }
            object.field("name") { $0.string(task.name) }
            if let reason = task.reason { object.field("reason") { $0.string(reason) } }
            object.field("resources") { $0.resources(task.resources) }
            object.field("state") { $0.string(task.state) }
        }
    }
}
