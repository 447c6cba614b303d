/// A cache size as written on the command line: `4096`, `128MiB`, `1.5GiB`, `10%`.
///
/// Units are case-insensitive: `B`; `K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`,
/// `T`/`TB`/`TiB`, all powers of 1024 (`1GB` means 1 GiB, as in libCacheSim's
/// cachesim, so sizes mean the same in both tools). A fraction is rounded to the
/// nearest byte. `%` is a share of the trace's working set. A bare number is bytes,
/// or objects in object mode.
public enum SizeSpec: Sendable, Equatable, CustomStringConvertible {
    /// A plain number: bytes, or objects in object mode.
    case count(Int64)
    /// A number with a byte unit; invalid in object mode.
    case bytes(Int64)
    /// A percentage of the working set (distinct objects, or their total bytes).
    case percent(Double)

    public var description: String {
        switch self {
        case .count(let n): return "\(n)"
        case .bytes(let n):
            // The largest binary unit that divides it, so 1073741824 reads "1GiB".
            for (suffix, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where n % (Int64(1) << shift) == 0 {
                return "\(n >> shift)\(suffix)"
            }
            return "\(n)B"
        case .percent(let p): return "\(p)%"
        }
    }

    private static let units: [(suffixes: [String], shift: Int)] = [
        (["", "b"], 0), (["k", "kb", "kib"], 10), (["m", "mb", "mib"], 20),
        (["g", "gb", "gib"], 30), (["t", "tb", "tib"], 40),
    ]

    /// Parses one size; the error names the token and what is wrong with it.
    public static func parse(_ token: Substring) throws(SizeSpecError) -> SizeSpec {
        let text = token.trimmingSpaces()
        func fail(_ why: String) -> SizeSpecError { SizeSpecError(token: String(text), reason: why) }
        guard !text.isEmpty else { throw fail("empty size") }
        // Split into number and suffix.
        var end = text.startIndex
        while end < text.endIndex, text[end].isASCII, text[end].isNumber || text[end] == "." { end = text.index(after: end) }
        let number = text[..<end]
        let suffix = text[end...].trimmingSpaces().lowercased()
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != "." else {
            throw fail("expected a number, optionally followed by B, KiB, MiB, GiB, TiB or %")
        }
        guard let value = Double(number), value.isFinite else { throw fail("'\(number)' is not a number") }
        if suffix == "%" {
            guard value > 0 else { throw fail("a percentage must be positive") }
            return .percent(value)
        }
        guard let unit = units.first(where: { $0.suffixes.contains(suffix) }) else {
            throw fail("unknown unit '\(text[end...].trimmingSpaces())' (use B, KiB, MiB, GiB, TiB or %)")
        }
        let scaled = value * Double(Int64(1) << unit.shift)
        guard scaled < 9.2e18 else { throw fail("too large") }
        let n = Int64(scaled.rounded())
        guard n > 0 else { throw fail("a size must be positive") }
        if suffix.isEmpty {
            guard !number.contains(".") else { throw fail("a fractional size needs a unit") }
            return .count(n)
        }
        return .bytes(n)
    }

    /// Parses a comma-separated list (`128MiB,256MiB,10%`).
    public static func parseList(_ text: String) throws(SizeSpecError) -> [SizeSpec] {
        var out: [SizeSpec] = []
        for token in text.split(separator: ",", omittingEmptySubsequences: false) {
            out.append(try parse(token))
        }
        return out
    }

    /// The size in bytes (or objects in object mode), given the working set for `%`.
    /// Percentages round to the nearest unit, and at least 1.
    public func resolve(workingSet: Int64, objectMode: Bool) throws(SizeSpecError) -> Int64 {
        switch self {
        case .count(let n):
            return n
        case .bytes(let n):
            if objectMode { throw SizeSpecError(token: description, reason: "a byte size cannot be used in object mode (give a count of objects or a %)") }
            return n
        case .percent(let p):
            return Swift.max(1, Int64((Double(workingSet) * p / 100).rounded()))
        }
    }
}

/// A size that could not be parsed or used.
public struct SizeSpecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The offending token, as written.
    public var token: String
    public var reason: String
    public init(token: String, reason: String) {
        self.token = token
        self.reason = reason
    }
    public var description: String { "bad size '\(token)': \(reason)" }
}

extension StringProtocol {
    func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
