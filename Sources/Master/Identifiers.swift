/// An agent's ID as the master assigned it (`<master-run>-S<n>`).
public typealias AgentID = String
/// A framework's ID as the master assigned it (`<master-run>-<n>`).
public typealias FrameworkID = String
/// An offer's ID (`<master-run>-O<n>`).
public typealias OfferID = String
/// A role name; `*` is the default role.
public typealias Role = String
