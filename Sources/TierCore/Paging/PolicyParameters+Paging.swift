extension PolicyParameters {
    /// A duration in nanoseconds: `120s`, `500ms`, `250us`, `2m`, `1h`, `1000ns`; a bare number is seconds.
    public mutating func duration(_ key: String, default value: UInt64) throws(PolicyError) -> UInt64 {
        let text = string(key, default: "")
        guard !text.isEmpty else { return value }
        guard let ns = DurationText.parse(text) else {
            throw PolicyError("\(policy): \(key)=\(text) is not a duration (e.g. 120s, 500ms, 2m)")
        }
        return ns
    }

    /// One of a fixed set of words.
    public mutating func choice(_ key: String, default value: String, from choices: [String]) throws(PolicyError) -> String {
        let v = string(key, default: value).lowercased()
        guard choices.contains(v) else {
            throw PolicyError("\(policy): \(key)=\(v) is not one of \(choices.joined(separator: ", "))")
        }
        return v
    }
}

/// Durations as written in parameters, configs and on the command line.
public enum DurationText {
    /// Nanoseconds for `120s`, `500ms`, `250us`, `2m` (or `2min`), `1h`, `1000ns` or a bare number of seconds;
    /// nil when malformed or negative.
    public static func parse(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: " ").lowercased()
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("ms", 1e6), ("min", 60e9), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var number = Substring(t)
        var scale = 1e9
        for (suffix, s) in units where t.hasSuffix(suffix) {
            let head = t.dropLast(suffix.count)
            // "ms" also ends in "s": take the longest suffix whose head is a number.
            if Double(head) != nil { number = head; scale = s; break }
        }
        guard let v = Double(number), v.isFinite, v >= 0, v * scale < 1.8e19 else { return nil }
        return UInt64((v * scale).rounded())
    }

    /// A short human form: `120s`, `500ms`, `1.5s`.
    public static func format(_ ns: UInt64) -> String {
        if ns == 0 { return "0s" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}
