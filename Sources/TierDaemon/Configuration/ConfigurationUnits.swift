import TierCore

/// Parsers for the units a configuration file writes: durations, byte sizes and byte rates.
///
/// Each returns nil on text it does not accept; the caller turns that into a located error that
/// says what was expected.
enum ConfigurationUnits {
    /// `250ms`, `2s`, `1.5s`, `5m`, `1h`, or a bare number of seconds.
    static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces()
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("us", 1e-6), ("s", 1), ("m", 60), ("h", 3600)]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            guard let value = Double(trimmed.dropLast(unit.suffix.count).trimmingSpaces()), value.isFinite, value >= 0 else {
                return nil
            }
            return value * unit.scale
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        return value
    }

    /// `4096`, `64KiB`, `256MiB`, `1GiB` (the units of ``SizeSpec``); percentages are refused.
    static func bytes(_ text: String) -> Int64? {
        let trimmed = text.trimmingSpaces()
        if let n = Int64(trimmed) { return n >= 0 ? n : nil }
        switch try? SizeSpec.parse(Substring(trimmed)) {
        case .bytes(let n)?, .count(let n)?: return n >= 0 ? n : nil
        default: return nil
        }
    }

    /// `64MiB/s`, `64MiB` (per second), a bare number of bytes per second, or `unlimited` (nil
    /// in the inner optional).
    static func bytesPerSecond(_ text: String) -> Int64?? {
        let trimmed = text.trimmingSpaces()
        if trimmed == "unlimited" { return .some(nil) }
        let amount = trimmed.hasSuffix("/s") ? String(trimmed.dropLast(2)) : trimmed
        guard let n = bytes(amount), n > 0 else { return nil }
        return .some(n)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}
