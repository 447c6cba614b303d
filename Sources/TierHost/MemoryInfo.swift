#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The host-wide memory figures of /proc/meminfo that policies use, in bytes.
public struct MemoryInfo: Sendable, Equatable {
    public var total: Int64
    public var free: Int64
    public var available: Int64
    public var swapTotal: Int64
    public var swapFree: Int64

    public init(total: Int64, free: Int64, available: Int64, swapTotal: Int64 = 0, swapFree: Int64 = 0) {
        self.total = total
        self.free = free
        self.available = available
        self.swapTotal = swapTotal
        self.swapFree = swapFree
    }

    /// Reads /proc/meminfo (or another file in its format).
    public static func read(path: String = "/proc/meminfo") throws(SystemCallError) -> MemoryInfo {
        try parse(HostFile.read(path), file: path)
    }

    /// Parses meminfo text; MemTotal, MemFree and MemAvailable are required.
    public static func parse(_ text: String, file: String) throws(SystemCallError) -> MemoryInfo {
        var values: [String: Int64] = [:]
        var lineNumber = 0
        var lastLine = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            lastLine = lineNumber
            guard let colon = line.firstIndex(of: ":") else {
                throw HostFile.parseError(file, line: lineNumber, "expected 'Key: N kB', found '\(line)'")
            }
            let parts = line[line.index(after: colon)...].split(separator: " ")
            guard let first = parts.first, let n = Int64(first) else {
                throw HostFile.parseError(file, line: lineNumber, "expected a number after '\(line[..<colon]):', found '\(line)'")
            }
            values[String(line[..<colon])] = parts.count > 1 && parts[1] == "kB" ? n * 1024 : n
        }
        func need(_ key: String) throws(SystemCallError) -> Int64 {
            guard let v = values[key] else {
                throw SystemCallError("parse \(file)", errno: 0, detail: "after line \(lastLine): no \(key) line before the end of the file")
            }
            return v
        }
        return MemoryInfo(total: try need("MemTotal"), free: try need("MemFree"), available: try need("MemAvailable"),
                          swapTotal: values["SwapTotal"] ?? 0, swapFree: values["SwapFree"] ?? 0)
    }
}

/// Pressure stall information for memory (/proc/pressure/memory), when the kernel has PSI.
public struct MemoryPressure: Sendable, Equatable {
    /// Percent of time at least one task stalled on memory, over 10, 60 and 300 s.
    public var someAvg10: Double
    public var someAvg60: Double
    public var someAvg300: Double
    /// Total `some` stall time in microseconds.
    public var someTotal: UInt64
    /// Percent of time all non-idle tasks stalled (nil on kernels without the `full` line).
    public var fullAvg10: Double?

    public init(someAvg10: Double, someAvg60: Double = 0, someAvg300: Double = 0, someTotal: UInt64 = 0, fullAvg10: Double? = nil) {
        self.someAvg10 = someAvg10
        self.someAvg60 = someAvg60
        self.someAvg300 = someAvg300
        self.someTotal = someTotal
        self.fullAvg10 = fullAvg10
    }

    /// The memory pressure, or nil when the file does not exist (no PSI, or psi=0).
    public static func read(path: String = "/proc/pressure/memory") throws(SystemCallError) -> MemoryPressure? {
        let text: String
        do { text = try HostFile.read(path) } catch {
            if error.errno == ENOENT || error.errno == EOPNOTSUPP { return nil }
            throw error
        }
        return try parse(text, file: path)
    }

    /// Parses `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and the optional `full` line.
    public static func parse(_ text: String, file: String) throws(SystemCallError) -> MemoryPressure {
        var some: [String: Substring]?
        var full: [String: Substring]?
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            let words = line.split(separator: " ")
            var kv: [String: Substring] = [:]
            for w in words.dropFirst() {
                let p = w.split(separator: "=", maxSplits: 1)
                guard p.count == 2 else { throw HostFile.parseError(file, line: lineNumber, "expected key=value, found '\(w)'") }
                kv[String(p[0])] = p[1]
            }
            switch words.first {
            case "some": some = kv
            case "full": full = kv
            default: throw HostFile.parseError(file, line: lineNumber, "expected a 'some' or 'full' line, found '\(line)'")
            }
        }
        guard let some, let a10 = some["avg10"].flatMap({ Double($0) }), let a60 = some["avg60"].flatMap({ Double($0) }),
              let a300 = some["avg300"].flatMap({ Double($0) }), let total = some["total"].flatMap({ UInt64($0) }) else {
            throw SystemCallError("parse \(file)", errno: 0, detail: "line 1: expected 'some avg10=N avg60=N avg300=N total=N'")
        }
        return MemoryPressure(someAvg10: a10, someAvg60: a60, someAvg300: a300, someTotal: total,
                              fullAvg10: full?["avg10"].flatMap { Double($0) })
    }
}
