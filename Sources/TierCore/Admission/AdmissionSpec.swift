/// A built-in admission policy chosen by name on the command line.
public struct AdmissionSpec: Sendable, CustomStringConvertible {
    public var name: String
    public var parameters: PolicyParameters

    public static let always = AdmissionSpec(name: AdmitAll.name, parameters: PolicyParameters(policy: AdmitAll.name))

    public init(name: String, parameters: PolicyParameters) {
        self.name = name
        self.parameters = parameters
    }

    /// Parses `name:key=value,...`.
    public init(parsing spec: String) throws(PolicyError) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).lowercased()
        guard BuiltinAdmission.names.contains(name) else {
            throw PolicyError("unknown admission policy '\(name)'; known: \(BuiltinAdmission.names.joined(separator: ", "))")
        }
        self.name = name
        self.parameters = try PolicyParameters(policy: name, parsing: parts.count > 1 ? parts[1] : "")
        _ = try make()
    }

    public var description: String { parameters.entries.isEmpty ? name : "\(name):\(parameters)" }

    /// Builds the policy.
    public func make() throws(PolicyError) -> BuiltinAdmission {
        var p = parameters
        return try BuiltinAdmission(name: name, parameters: &p)
    }
}

/// The built-in admission policies behind one concrete type: one switch per miss,
/// which costs nothing next to the miss itself.
public enum BuiltinAdmission: AdmissionPolicy {
    case always(AdmitAll)

    public static let name = "builtin"
    public static let names = [AdmitAll.name]

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        try self.init(name: parameters.policy, parameters: &parameters)
    }

    public init(name: String, parameters: inout PolicyParameters) throws(PolicyError) {
        switch name {
        case AdmitAll.name: self = .always(try AdmitAll(parameters: &parameters))
        default: throw PolicyError("unknown admission policy '\(name)'; known: \(Self.names.joined(separator: ", "))")
        }
    }

    public var label: String {
        switch self {
        case .always(let a): return a.label
        }
    }

    @inlinable
    public mutating func admit(_ request: Request) -> Bool {
        switch self {
        case .always: return true
        }
    }
}
