/// Named parameters of a policy, as written after its name: `s3fifo:small=0.1,threshold=2`.
///
/// A policy reads the keys it knows with ``double(_:default:)``, ``int(_:default:)``
/// or ``string(_:default:)`` and then calls ``finish()``, which rejects any key it
/// did not read, so a misspelt parameter is an error rather than a silent default.
public struct PolicyParameters: Sendable, Equatable, CustomStringConvertible {
    /// Keys and values in the order given.
    public private(set) var entries: [(key: String, value: String)]
    private var consumed: Set<String> = []
    /// The policy name the parameters belong to, for error messages.
    public var policy: String

    public static func == (a: Self, b: Self) -> Bool {
        a.policy == b.policy && a.entries.elementsEqual(b.entries, by: { $0.key == $1.key && $0.value == $1.value })
    }

    public init(policy: String = "", entries: [(key: String, value: String)] = []) {
        self.policy = policy
        self.entries = entries
    }

    /// Parses `key=value,key=value` (empty text gives no parameters).
    public init(policy: String, parsing text: Substring) throws(PolicyError) {
        self.policy = policy
        self.entries = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, !kv[0].isEmpty else {
                throw PolicyError("\(policy): parameter '\(part)' is not key=value")
            }
            entries.append((String(kv[0]).lowercased(), String(kv[1])))
        }
    }

    public var description: String { entries.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }

    private mutating func raw(_ key: String) -> String? {
        consumed.insert(key)
        return entries.last(where: { $0.key == key })?.value
    }

    /// A floating-point parameter.
    public mutating func double(_ key: String, default value: Double, in range: ClosedRange<Double>? = nil) throws(PolicyError) -> Double {
        guard let text = raw(key) else { return value }
        guard let v = Double(text), v.isFinite else { throw PolicyError("\(policy): \(key)=\(text) is not a number") }
        if let range, !range.contains(v) { throw PolicyError("\(policy): \(key)=\(text) is outside \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    /// An integer parameter.
    public mutating func int(_ key: String, default value: Int, in range: ClosedRange<Int>? = nil) throws(PolicyError) -> Int {
        guard let text = raw(key) else { return value }
        guard let v = Int(text) else { throw PolicyError("\(policy): \(key)=\(text) is not an integer") }
        if let range, !range.contains(v) { throw PolicyError("\(policy): \(key)=\(text) is outside \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    /// A byte count: `65536`, `64KiB`, `1MiB` (units as ``SizeSpec``).
    public mutating func bytes(_ key: String, default value: Int64) throws(PolicyError) -> Int64 {
        guard let text = raw(key) else { return value }
        switch try? SizeSpec.parse(Substring(text)) {
        case .bytes(let n)?, .count(let n)?: return n
        default: throw PolicyError("\(policy): \(key)=\(text) is not a byte size (e.g. 65536, 64KiB, 1MiB)")
        }
    }

    /// A string parameter.
    public mutating func string(_ key: String, default value: String) -> String {
        raw(key) ?? value
    }

    /// Throws if a parameter was given that the policy does not know.
    public func finish(known: [String]) throws(PolicyError) {
        for e in entries where !consumed.contains(e.key) {
            throw PolicyError("\(policy): unknown parameter '\(e.key)' (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
    }
}

/// A policy could not be named or configured.
public struct PolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
