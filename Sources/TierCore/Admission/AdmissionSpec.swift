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
        let given = String(parts[0]).lowercased()
        let name = BuiltinAdmission.aliases[given] ?? given
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
    case prob(ProbabilisticAdmission)
    case size(SizeAdmission)
    case secondHit(SecondHitAdmission)

    public static let name = "builtin"
    public static let names = [AdmitAll.name, ProbabilisticAdmission.name, SizeAdmission.name, SecondHitAdmission.name]
    /// libCacheSim's names for the same policies.
    public static let aliases = ["bloomfilter": SecondHitAdmission.name, "bloom-filter": SecondHitAdmission.name]

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        try self.init(name: parameters.policy, parameters: &parameters)
    }

    public init(name: String, parameters: inout PolicyParameters) throws(PolicyError) {
        switch Self.aliases[name] ?? name {
        case AdmitAll.name: self = .always(try AdmitAll(parameters: &parameters))
        case ProbabilisticAdmission.name: self = .prob(try ProbabilisticAdmission(parameters: &parameters))
        case SizeAdmission.name: self = .size(try SizeAdmission(parameters: &parameters))
        case SecondHitAdmission.name: self = .secondHit(try SecondHitAdmission(parameters: &parameters))
        default: throw PolicyError("unknown admission policy '\(name)'; known: \(Self.names.joined(separator: ", "))")
        }
    }

    public var label: String {
        switch self {
        case .always(let a): return a.label
        case .prob(let a): return a.label
        case .size(let a): return a.label
        case .secondHit(let a): return a.label
        }
    }

    @inlinable
    public mutating func admit(_ request: Request) -> Bool {
        switch self {
        case .always: return true
        case .prob(var a):
            let admitted = a.admit(request)
            self = .prob(a)
            return admitted
        case .size(var a): return a.admit(request)
        case .secondHit(var a): return a.admit(request)  // state lives in its table
        }
    }
}
