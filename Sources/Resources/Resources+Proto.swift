import AgoraProto

/// A protobuf resource or attribute that does not describe a valid value.
public struct ResourceConversionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The resource's name, or `(unnamed)`.
    public let name: String
    public let reason: String

    public var description: String {
        "invalid resource \"\(name)\": \(reason)"
    }
}

extension Resources {
    /// Converts Mesos-style protobuf resources. The role is the last (most refined)
    /// reservation's, else the deprecated `role` field, else unreserved.
    public init(proto: [Agora_V1_Resource]) throws(ResourceConversionError) {
        self.init()
        for message in proto {
            let name = message.hasName ? message.name : ""
            func fail(_ reason: String) -> ResourceConversionError {
                ResourceConversionError(name: name.isEmpty ? "(unnamed)" : name, reason: reason)
            }
            if let problem = ResourceSyntax.nameProblem(name) { throw fail(problem) }
            var role = Resource.unreservedRole
            if let reservation = message.reservations.last {
                role = reservation.role
            } else if message.hasRole {
                role = message.role
            }
            if let problem = ResourceSyntax.roleProblem(role) { throw fail("invalid role \"\(role)\": \(problem)") }
            let value: Resource.Value
            switch message.type {
            case .scalar:
                guard message.hasScalar else { throw fail("a SCALAR resource needs a scalar value") }
                let number = message.scalar.value
                guard number.isFinite, number >= 0, number < 9e15 else { throw fail("\(number) is not a valid quantity") }
                value = .scalar(Scalar(number))
            case .ranges:
                guard message.hasRanges else { throw fail("a RANGES resource needs ranges") }
                var ranges: [ClosedRange<UInt64>] = []
                for range in message.ranges.range {
                    guard range.begin <= range.end else { throw fail("the range \(range.begin)-\(range.end) ends before it begins") }
                    ranges.append(range.begin...range.end)
                }
                value = .ranges(RangeSet(ranges))
            case .set:
                guard message.hasSet else { throw fail("a SET resource needs a set") }
                value = .set(Set(message.set.item))
            case .text:
                throw fail("TEXT is not a resource type")
            }
            add(Resource(name: name, role: role, value: value))
        }
    }

    /// The resources as protobuf messages; reserved ones carry one STATIC reservation.
    public var proto: [Agora_V1_Resource] {
        entries.map { resource in
            var message = Agora_V1_Resource()
            message.name = resource.name
            switch resource.value {
            case .scalar(let scalar):
                message.type = .scalar
                message.scalar.value = scalar.doubleValue
            case .ranges(let ranges):
                message.type = .ranges
                message.ranges.range = ranges.ranges.map { range in
                    var protoRange = Agora_V1_Value.Range()
                    protoRange.begin = range.lowerBound
                    protoRange.end = range.upperBound
                    return protoRange
                }
            case .set(let items):
                message.type = .set
                message.set.item = items.sorted()
            }
            if resource.isReserved {
                var reservation = Agora_V1_Resource.ReservationInfo()
                reservation.type = .static
                reservation.role = resource.role
                message.reservations = [reservation]
            }
            return message
        }
    }
}

extension Attributes {
    /// Converts protobuf attributes; a repeated name or a value of the wrong type throws.
    public init(proto: [Agora_V1_Attribute]) throws(ResourceConversionError) {
        var attributes: [Attribute] = []
        for message in proto {
            let name = message.name
            func fail(_ reason: String) -> ResourceConversionError {
                ResourceConversionError(name: name.isEmpty ? "(unnamed)" : name, reason: reason)
            }
            if let problem = ResourceSyntax.nameProblem(name) { throw fail(problem) }
            if attributes.contains(where: { $0.name == name }) { throw fail("the attribute is given twice") }
            let value: Attribute.Value
            switch message.type {
            case .scalar:
                guard message.scalar.value.isFinite else { throw fail("the scalar is not finite") }
                value = .scalar(Scalar(message.scalar.value))
            case .ranges:
                guard message.ranges.range.allSatisfy({ $0.begin <= $0.end }) else { throw fail("a range ends before it begins") }
                value = .ranges(RangeSet(message.ranges.range.map { $0.begin...$0.end }))
            case .set:
                value = .set(Set(message.set.item))
            case .text:
                value = .text(message.text.value)
            }
            attributes.append(Attribute(name: name, value: value))
        }
        self.init(attributes)
    }

    public var proto: [Agora_V1_Attribute] {
        attributes.map { attribute in
            var message = Agora_V1_Attribute()
            message.name = attribute.name
            switch attribute.value {
            case .text(let text):
                message.type = .text
                message.text.value = text
            case .scalar(let scalar):
                message.type = .scalar
                message.scalar.value = scalar.doubleValue
            case .ranges(let ranges):
                message.type = .ranges
                message.ranges.range = ranges.ranges.map { range in
                    var protoRange = Agora_V1_Value.Range()
                    protoRange.begin = range.lowerBound
                    protoRange.end = range.upperBound
                    return protoRange
                }
            case .set(let items):
                message.type = .set
                message.set.item = items.sorted()
            }
            return message
        }
    }
}
