import Resources

extension OfferResources {
    /// What is left for tasks of `role`: resources reserved for exactly that role
    /// (unreserved ones for `*`).
    public func remaining(for role: String) -> Resources {
        remaining.reserved(for: role)
    }

    /// Everything `request` lacks in what is left, one `Rejection` per short
    /// resource; empty when it fits. Constraints are not checked here.
    public func shortfalls(for request: ResourceRequest) -> [Rejection] {
        let available = remaining(for: request.role)
        var rejections: [Rejection] = []
        for (name, needed) in request.scalars where needed > available.scalar(named: name) {
            rejections.append(.insufficient(resource: Self.label(name, request.role), needed: needed,
                                            available: available.scalar(named: name)))
        }
        let free = available.ports
        let missing = PortPicker.unavailable(request.requiredPorts, in: free)
        if !missing.isEmpty {
            rejections.append(.portsUnavailable(resource: Self.label("ports", request.role), ports: missing, free: free))
        } else if UInt64(request.totalPortCount) > free.count {
            rejections.append(.insufficientPorts(resource: Self.label("ports", request.role),
                                                 needed: request.totalPortCount, available: free.count))
        }
        return rejections
    }

    /// Sets aside `request`'s resources and ports picked from what is left, if they
    /// fit; the picked ports leave `remaining`, so no later task gets them again.
    public mutating func take(_ request: ResourceRequest) -> GrantedResources? {
        guard let ports = PortPicker.pick(count: request.portCount, required: request.requiredPorts,
                                          from: remaining(for: request.role).ports)
        else { return nil }
        let resources = request.resources(withPorts: ports)
        guard take(resources) else { return nil }
        return GrantedResources(resources: resources, ports: ports)
    }

    private static func label(_ name: String, _ role: String) -> String {
        role == Resource.unreservedRole ? name : "\(name)(\(role))"
    }
}
