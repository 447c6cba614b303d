/// A paging policy: given the heat of a target's memory, what to page out, deactivate or
/// bring back. The plug-in point shared by the daemon (live, through process_madvise) and
/// `tierkit replay --paging` (offline, on a recorded page trace).
///
/// A policy is a value with state across periods (feedback controllers keep their pressure,
/// prefetchers their history), so ``decide(_:)`` is mutating. Policies must not assume their
/// actions succeeded: the next snapshot shows what actually moved.
public protocol PagingPolicy: Sendable {
    /// The name used in configs and on the command line (`cold-age`, `refault`, `prefetch`).
    static var name: String { get }
    /// Parameter keys this policy understands, with their meaning and default.
    static var parameterHelp: [(key: String, help: String)] { get }

    /// Creates the policy, reading its parameters; unknown keys are an error.
    init(parameters: inout PolicyParameters) throws(PolicyError)

    /// Name with its effective parameters, e.g. `cold-age(min_age=2s,quota=64MiB/s)`.
    var label: String { get }

    /// The actions for this period, in the order they should be applied.
    mutating func decide(_ snapshot: HeatSnapshot) -> [PagingAction]
}

extension PagingPolicy {
    public static var parameterHelp: [(key: String, help: String)] { [] }
    public var label: String { Self.name }
}

/// A paging policy known by name: its help, and a way to build it from parameters.
public struct PagingPolicyDescriptor: Sendable {
    /// Command-line / config name.
    public let name: String
    /// Parameter keys and their meaning.
    public let parameterHelp: [(key: String, help: String)]
    private let factory: @Sendable (inout PolicyParameters) throws(PolicyError) -> any PagingPolicy

    public init<P: PagingPolicy>(_ type: P.Type) {
        self.name = P.name
        self.parameterHelp = P.parameterHelp
        self.factory = { (p: inout PolicyParameters) throws(PolicyError) -> any PagingPolicy in try P(parameters: &p) }
    }

    /// Builds the policy; throws on bad or unknown parameters.
    public func make(_ parameters: PolicyParameters) throws(PolicyError) -> any PagingPolicy {
        var p = parameters
        p.policy = name
        return try factory(&p)
    }
}

/// The registry of built-in paging policies.
public enum PagingPolicies {
    /// Every built-in paging policy, in the order tools list them.
    public static let all: [PagingPolicyDescriptor] = [
        PagingPolicyDescriptor(ColdAgeReclaim.self),
        PagingPolicyDescriptor(RefaultFeedback.self),
        PagingPolicyDescriptor(SwapPrefetch.self),
    ]

    /// The descriptor for a name (case-insensitive).
    public static func named(_ name: String) -> PagingPolicyDescriptor? {
        let lower = name.lowercased()
        return all.first { $0.name == lower }
    }

    /// Builds a policy from `name:key=value,...`; an unknown name lists the known ones.
    public static func make(_ spec: String) throws(PolicyError) -> any PagingPolicy {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).trimmingCharacters(in: " ")
        return try make(name: name, parameters: PolicyParameters(policy: name, parsing: parts.count > 1 ? parts[1] : ""))
    }

    /// Builds a policy from a name and parameters (a config file's table, for instance).
    public static func make(name: String, parameters: PolicyParameters) throws(PolicyError) -> any PagingPolicy {
        guard let d = named(name) else {
            throw PolicyError("unknown paging policy '\(name)'; known paging policies: \(all.map(\.name).joined(separator: ", "))")
        }
        return try d.make(parameters)
    }
}

extension PagingAction {
    /// Advises `regions` in order until `budget` bytes of resident memory are spent: a region
    /// whose resident bytes fit is advised whole, the first that does not fit is advised for as
    /// many leading pages as the rest of the budget covers, and nothing after it.
    public static func spending(
        _ budget: Int64, on regions: some Sequence<PageRegion>, advice: PagingAdvice, pageSize: Int
    ) -> [PagingAction] {
        let pageSize = Int64(pageSize)
        var budget = budget
        var actions: [PagingAction] = []
        for r in regions {
            guard budget >= pageSize else { break }
            let resident = Int64(r.residentPages) * pageSize
            if resident <= budget {
                actions.append(PagingAction(advice, start: r.start, length: UInt64(Int64(r.pages) * pageSize)))
                budget -= resident
            } else {
                let pages = budget / pageSize
                actions.append(PagingAction(advice, start: r.start, length: UInt64(pages * pageSize)))
                budget -= pages * pageSize
            }
        }
        return actions
    }
}
