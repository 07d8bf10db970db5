/// A bag of resources with exact arithmetic: what an agent has, what an offer
/// holds, what a task uses.
///
/// Always normalized: one entry per (name, role, kind), in canonical order, with no
/// empty entries, so equal bags compare equal. Subtraction never produces negative
/// quantities.
public struct Resources: Hashable, Sendable, Codable, Sequence, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The entries in canonical order (cpus, mem, disk, gpus, ports, then by name;
    /// unreserved before reserved).
    public private(set) var entries: [Resource]

    public init() {
        entries = []
    }

    /// The sum of `resources`; entries with the same name and role merge.
    public init(_ resources: some Sequence<Resource>) {
        entries = []
        for resource in resources { add(resource) }
    }

    public init(arrayLiteral elements: Resource...) {
        self.init(elements)
    }

    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[Resource]> {
        entries.makeIterator()
    }

    /// The agent syntax, e.g. `cpus:4;mem:8192;ports:[31000-32000]`; parses back to an equal value.
    public var description: String {
        entries.map(\.description).joined(separator: ";")
    }

    // MARK: Arithmetic

    public static func + (lhs: Resources, rhs: Resources) -> Resources {
        var sum = lhs
        sum += rhs
        return sum
    }

    public static func += (lhs: inout Resources, rhs: Resources) {
        for resource in rhs.entries { lhs.add(resource) }
    }

    /// `lhs` without `rhs`; quantities stop at zero (subtracting more than there is
    /// leaves nothing of that resource, never a negative amount).
    public static func - (lhs: Resources, rhs: Resources) -> Resources {
        var difference = lhs
        difference -= rhs
        return difference
    }

    public static func -= (lhs: inout Resources, rhs: Resources) {
        for resource in rhs.entries { lhs.subtract(resource) }
    }

    /// `self - other`, or an error naming what is missing when `self` does not contain `other`.
    public func subtracting(exactly other: Resources) throws(ResourcesError) -> Resources {
        guard contains(other) else {
            throw ResourcesError(missing: other - self, from: self)
        }
        return self - other
    }

    /// Whether every entry of `other` fits in an entry of `self` with the same name
    /// and role (`cpus(ops):1` is not contained in `cpus:4`).
    public func contains(_ other: Resources) -> Bool {
        other.entries.allSatisfy { needed in
            guard let index = index(matching: needed) else { return false }
            switch (entries[index].value, needed.value) {
            case let (.scalar(have), .scalar(want)): return have >= want
            case let (.ranges(have), .ranges(want)): return have.contains(want)
            case let (.set(have), .set(want)): return have.isSuperset(of: want)
            default: return false
            }
        }
    }

    public mutating func add(_ resource: Resource) {
        guard !resource.value.isEmpty else { return }
        if let index = index(matching: resource) {
            switch (entries[index].value, resource.value) {
            case let (.scalar(have), .scalar(more)): entries[index].value = .scalar(have + more)
            case let (.ranges(have), .ranges(more)): entries[index].value = .ranges(have.union(more))
            case let (.set(have), .set(more)): entries[index].value = .set(have.union(more))
            default: break
            }
        } else {
            let position = entries.firstIndex { resource.precedes($0) } ?? entries.endIndex
            entries.insert(resource, at: position)
        }
    }

    public mutating func subtract(_ resource: Resource) {
        guard let index = index(matching: resource) else { return }
        let remaining: Resource.Value
        switch (entries[index].value, resource.value) {
        case let (.scalar(have), .scalar(less)): remaining = .scalar(Swift.max(.zero, have - less))
        case let (.ranges(have), .ranges(less)): remaining = .ranges(have.subtracting(less))
        case let (.set(have), .set(less)): remaining = .set(have.subtracting(less))
        default: return
        }
        if remaining.isEmpty {
            entries.remove(at: index)
        } else {
            entries[index].value = remaining
        }
    }

    // MARK: Roles

    /// All resources re-labelled with `role` (unreserved by default) and merged.
    public func flattened(to role: String = Resource.unreservedRole) -> Resources {
        Resources(entries.map { Resource(name: $0.name, role: role, value: $0.value) })
    }

    /// The resources reserved for exactly `role`.
    public func reserved(for role: String) -> Resources {
        filter { $0.role == role }
    }

    /// The unreserved resources.
    public var unreserved: Resources {
        filter { !$0.isReserved }
    }

    /// The resources `role` may use: unreserved ones and those reserved for `role`
    /// or one of its ancestors (`eng` for `eng/web`).
    public func allocatable(to role: String) -> Resources {
        filter { resource in
            !resource.isReserved || resource.role == role || role.hasPrefix(resource.role + "/")
        }
    }

    /// The entries that satisfy `isIncluded`, still normalized.
    public func filter(_ isIncluded: (Resource) -> Bool) -> Resources {
        var result = Resources()
        result.entries = entries.filter(isIncluded)
        return result
    }

    // MARK: Accessors

    /// The sum of the scalar resource `name` over all roles.
    public func scalar(named name: String) -> Scalar {
        entries.reduce(.zero) { total, resource in
            guard resource.name == name, case .scalar(let value) = resource.value else { return total }
            return total + value
        }
    }

    public var cpus: Scalar { scalar(named: "cpus") }
    /// Memory in MB.
    public var mem: Scalar { scalar(named: "mem") }
    /// Disk in MB.
    public var disk: Scalar { scalar(named: "disk") }
    public var gpus: Scalar { scalar(named: "gpus") }

    /// The union of the `ports` ranges over all roles.
    public var ports: RangeSet {
        entries.reduce(RangeSet()) { total, resource in
            guard resource.name == "ports", case .ranges(let value) = resource.value else { return total }
            return total.union(value)
        }
    }

    /// The distinct resource names present.
    public var names: [String] {
        var seen: [String] = []
        for resource in entries where seen.last != resource.name && !seen.contains(resource.name) {
            seen.append(resource.name)
        }
        return seen
    }

    /// Each scalar resource's total over all roles, for share computations.
    public var scalarTotals: [String: Scalar] {
        var totals: [String: Scalar] = [:]
        for resource in entries {
            if case .scalar(let value) = resource.value { totals[resource.name, default: .zero] += value }
        }
        return totals
    }

    private func index(matching resource: Resource) -> Int? {
        entries.firstIndex { $0.sharesKey(with: resource) }
    }
}

/// A subtraction needed resources that were not there.
public struct ResourcesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was asked for but not available.
    public let missing: Resources
    /// What was available.
    public let available: Resources

    public init(missing: Resources, from available: Resources) {
        self.missing = missing
        self.available = available
    }

    public var description: String {
        let missingText = missing.isEmpty ? "resources of another role or kind" : missing.description
        return "not enough resources: missing \(missingText) (available: \(available.isEmpty ? "nothing" : available.description))"
    }
}
