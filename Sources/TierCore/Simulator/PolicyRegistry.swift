/// Everything the tools need to know about one eviction policy, and a way to
/// replay a trace through it with the policy's concrete type (so each entry
/// compiles its own specialised loop).
public struct PolicyDescriptor: Sendable {
    /// Command-line name.
    public let name: String
    /// Parameter keys and their meaning.
    public let parameterHelp: [(key: String, help: String)]
    /// Whether the policy needs next-access times (Belady family).
    public let needsNextAccess: Bool
    /// The policy's type, for users other than replay (the KV tier) to open and specialise on.
    public let policyType: any EvictionPolicy.Type
    /// Builds the policy and replays a source through it.
    @usableFromInline let runner: @Sendable (inout ReplaySetup) throws -> ReplayOutcome

    public init<P: EvictionPolicy>(_ type: P.Type, needsNextAccess: Bool = false) {
        self.name = P.name
        self.parameterHelp = P.parameterHelp
        self.needsNextAccess = needsNextAccess
        self.policyType = P.self
        self.runner = { setup in try setup.run(P.self) }
    }

    /// Replays according to `setup`.
    public func run(_ setup: inout ReplaySetup) throws -> ReplayOutcome {
        try runner(&setup)
    }
}

/// What a replay needs besides the policy type.
public struct ReplaySetup {
    public var trace: TraceSpec
    public var capacity: Int64
    public var parameters: PolicyParameters
    public var admission: AdmissionSpec
    public var progress: (Int64) -> Void

    public init(trace: TraceSpec, capacity: Int64, parameters: PolicyParameters,
                admission: AdmissionSpec = .always, progress: @escaping (Int64) -> Void = { _ in }) {
        self.trace = trace
        self.capacity = capacity
        self.parameters = parameters
        self.admission = admission
        self.progress = progress
    }

    @inlinable
    mutating func run<P: EvictionPolicy>(_ type: P.Type) throws -> ReplayOutcome {
        var params = parameters
        var visitor = ReplayVisitor(policy: try P(capacity: capacity, parameters: &params),
                                    admission: try admission.make(), progress: progress)
        let counts = try trace.visit(&visitor)
        return ReplayOutcome(label: visitor.policy.label, admissionLabel: visitor.admission.label, counts: counts)
    }
}

@usableFromInline
struct ReplayVisitor<P: EvictionPolicy, A: AdmissionPolicy>: RequestSourceVisitor {
    @usableFromInline var policy: P
    @usableFromInline var admission: A
    @usableFromInline let progress: (Int64) -> Void

    @inlinable init(policy: P, admission: A, progress: @escaping (Int64) -> Void) {
        self.policy = policy
        self.admission = admission
        self.progress = progress
    }

    @inlinable
    mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> ReplayCounts {
        try replay(&source, policy: &policy, admission: &admission, progress: progress)
    }
}

/// The result of one replay.
public struct ReplayOutcome: Sendable {
    public var label: String
    public var admissionLabel: String
    public var counts: ReplayCounts
    @inlinable public init(label: String, admissionLabel: String, counts: ReplayCounts) {
        self.label = label
        self.admissionLabel = admissionLabel
        self.counts = counts
    }
}

/// The registry of built-in eviction policies.
public enum Policies {
    /// Every built-in eviction policy, in the order tools list them.
    public static let all: [PolicyDescriptor] = [
        PolicyDescriptor(LRU.self),
        PolicyDescriptor(FIFO.self),
        PolicyDescriptor(Clock.self),
        PolicyDescriptor(SLRU.self),
        PolicyDescriptor(ARC.self),
        PolicyDescriptor(TwoQ.self),
        PolicyDescriptor(LFU.self),
        PolicyDescriptor(LIRS.self),
        PolicyDescriptor(Sieve.self),
        PolicyDescriptor(S3FIFO.self),
        PolicyDescriptor(WTinyLFU.self),
        PolicyDescriptor(Belady.self, needsNextAccess: true),
        PolicyDescriptor(BeladySize.self, needsNextAccess: true),
        PolicyDescriptor(LHD.self),
    ]

    /// The descriptor for a command-line name (case-insensitive).
    public static func named(_ name: String) -> PolicyDescriptor? {
        let lower = name.lowercased()
        return all.first { $0.name == lower }
    }

    /// Splits `name:key=value,...` and looks the policy up; an unknown name lists the known ones.
    public static func parse(_ spec: String) throws(PolicyError) -> (PolicyDescriptor, PolicyParameters) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).trimmingCharacters(in: " ")
        guard let d = named(name) else {
            throw PolicyError("unknown policy '\(name)'; known policies: \(all.map(\.name).joined(separator: ", "))")
        }
        let params = try PolicyParameters(policy: d.name, parsing: parts.count > 1 ? parts[1] : "")
        return (d, params)
    }
}

extension Policies {
    /// Splits a comma-separated list of policy specs. Parameters also use commas,
    /// so a `key=value` item without a `:` continues the policy before it:
    /// `lru,s3fifo:small=0.2,threshold=1,arc` is three policies; `all` names every built-in one.
    public static func splitList(_ list: String) -> [String] {
        var specs: [String] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: true) {
            if item.lowercased() == "all" {
                specs += all.map(\.name)
            } else if item.contains("=") && !item.contains(":"), !specs.isEmpty {
                specs[specs.count - 1] += "," + item
            } else {
                specs.append(String(item))
            }
        }
        return specs
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
