/// How a CSV trace's columns map to request fields.
///
/// Columns are found by header name (`time`, `id`/`obj_id`, `size`/`obj_size`,
/// `next_access`/`next_access_vtime`) or given explicitly, by 1-based number or by
/// name, with libCacheSim's reader-parameter syntax:
/// `time-col=1,obj-id-col=2,obj-size-col=3,delimiter=,,has-header=true`.
public struct CSVOptions: Sendable, Equatable {
    /// A column chosen by 1-based number or by header name.
    public enum Column: Sendable, Equatable, CustomStringConvertible {
        case number(Int)
        case name(String)
        /// Not read, even when the header names it (`-col=0`).
        case absent

        public var description: String {
            switch self {
            case .number(let n): return "\(n)"
            case .name(let s): return "'\(s)'"
            case .absent: return "0"
            }
        }
    }

    /// How object ids become 64-bit integers.
    public enum IdMode: String, Sendable, Equatable {
        /// Decimal unsigned integers are used as they are; anything else is hashed.
        case auto
        /// Every id must be a decimal unsigned integer (libCacheSim's `obj-id-is-num=true`).
        case numeric
        /// Every id is hashed, digits included (libCacheSim's `obj-id-is-num=false`).
        case hashed
    }

    public var time: Column?
    public var id: Column?
    public var size: Column?
    public var nextAccess: Column?
    /// Field separator; nil detects it from the first line as libCacheSim does
    /// (the most frequent of tab, comma, `|`, `:`, weighted in that order).
    public var delimiter: UInt8?
    /// nil detects a header: the first line is a header when one of its fields is a
    /// known column name, or a numbered time/size/next-access column in it is not a number.
    public var hasHeader: Bool?
    public var idMode: IdMode

    public init(time: Column? = nil, id: Column? = nil, size: Column? = nil, nextAccess: Column? = nil,
                delimiter: UInt8? = nil, hasHeader: Bool? = nil, idMode: IdMode = .auto) {
        self.time = time
        self.id = id
        self.size = size
        self.nextAccess = nextAccess
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.idMode = idMode
    }

    /// The accepted `key=value` options and their meaning.
    public static let help: [(key: String, help: String)] = [
        ("time-col", "time column: 1-based number or header name (absent: time 0)"),
        ("obj-id-col", "object id column: number or name (default: header 'id' or 'obj_id')"),
        ("obj-size-col", "size column: number or name (absent: size 1)"),
        ("next-access-col", "next-access column, 1-based request index or -1 (0: ignore the header's)"),
        ("delimiter", "one character, or \\t; default: detected from the first line"),
        ("has-header", "true|false; default: detected"),
        ("obj-id-is-num", "true: ids must be unsigned integers; false: hash every id; auto (default): hash only non-numeric ids; the hash is XXH3-64, as libCacheSim's"),
    ]

    /// Parses libCacheSim-style reader parameters, e.g.
    /// `time-col=1,obj-id-col=2,obj-size-col=3,delimiter=,,has-header=true`.
    public init(parsing text: String) throws(TraceError) {
        self.init()
        let bytes = Array(text.utf8)
        var i = 0
        func fail(_ message: String) -> TraceError {
            TraceError(path: "csv options", location: .file, message: message)
        }
        while i < bytes.count {
            while i < bytes.count && (bytes[i] == 32 || bytes[i] == 44) { i += 1 }
            if i >= bytes.count { break }
            var keyEnd = i
            while keyEnd < bytes.count && bytes[keyEnd] != 61 && bytes[keyEnd] != 44 { keyEnd += 1 }
            let key = String(decoding: bytes[i..<keyEnd], as: UTF8.self)
                .lowercased().replacingUnderscores().trimmingSpaces()
            guard keyEnd < bytes.count && bytes[keyEnd] == 61 else {
                throw fail("expected key=value, found '\(key)'")
            }
            i = keyEnd + 1
            if key == "delimiter" {
                // The value is one character, which may itself be a comma:
                // "delimiter=,,k=v" and "delimiter=,k=v" both mean a comma.
                if i >= bytes.count || bytes[i] == 44 {
                    delimiter = 44
                    i += 1
                    continue
                }
                if bytes[i] == 92 { // backslash escape
                    guard i + 1 < bytes.count else { delimiter = 44; i += 1; continue }
                    switch bytes[i + 1] {
                    case 116: delimiter = 9
                    case 44: delimiter = 44
                    case 124: delimiter = 124
                    default: throw fail("unsupported delimiter escape '\\\(String(UnicodeScalar(bytes[i + 1])))' (use \\t or one character)")
                    }
                    i += 2
                } else if bytes.count - i >= 3 && String(decoding: bytes[i..<i + 3], as: UTF8.self).lowercased() == "tab"
                            && (i + 3 == bytes.count || bytes[i + 3] == 44) {
                    delimiter = 9
                    i += 3
                } else {
                    guard bytes[i] < 128 else { throw fail("the delimiter must be one ASCII character") }
                    delimiter = bytes[i]
                    i += 1
                }
                if i < bytes.count && bytes[i] != 44 {
                    throw fail("the delimiter must be one character, found more after it")
                }
                continue
            }
            var valueEnd = i
            while valueEnd < bytes.count && bytes[valueEnd] != 44 { valueEnd += 1 }
            let value = String(decoding: bytes[i..<valueEnd], as: UTF8.self).trimmingSpaces()
            i = valueEnd
            switch key {
            case "time-col", "time-field":
                time = try Self.column(value, key: key)
            case "obj-id-col", "obj-id-field", "id-col":
                id = try Self.column(value, key: key)
            case "obj-size-col", "obj-size-field", "size-col", "size-field":
                size = try Self.column(value, key: key)
            case "next-access-col", "next-access-field":
                nextAccess = try Self.column(value, key: key)
            case "has-header", "header":
                guard let b = Self.bool(value) else { throw fail("\(key): expected true or false, found '\(value)'") }
                hasHeader = b
            case "obj-id-is-num":
                if value.lowercased() == "auto" {
                    idMode = .auto
                } else if let b = Self.bool(value) {
                    idMode = b ? .numeric : .hashed
                } else {
                    throw fail("obj-id-is-num: expected true, false or auto, found '\(value)'")
                }
            default:
                throw fail("unknown option '\(key)' (known: \(Self.help.map(\.key).joined(separator: ", ")))")
            }
        }
    }

    private static func column(_ value: String, key: String) throws(TraceError) -> Column {
        if value.isEmpty { throw TraceError(path: "csv options", location: .file, message: "\(key): expected a column number or name") }
        if value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let n = Int(value) else { throw TraceError(path: "csv options", location: .file, message: "\(key): column number too large") }
            return n == 0 ? .absent : .number(n) // libCacheSim: 0 means "no such column"
        }
        return .name(value)
    }

    private static func bool(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "true", "1", "yes", "t", "y": return true
        case "false", "0", "no", "f", "n": return false
        default: return nil
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(decoding: utf8.map { $0 == 95 ? 45 : $0 }, as: UTF8.self)
    }

    fileprivate func trimmingSpaces() -> String {
        let u = Array(utf8)
        var a = 0, b = u.count
        while a < b && (u[a] == 32 || u[a] == 9) { a += 1 }
        while b > a && (u[b - 1] == 32 || u[b - 1] == 9) { b -= 1 }
        return String(decoding: u[a..<b], as: UTF8.self)
    }
}

/// The stable hash for non-numeric object ids: XXH3 64-bit (seed 0) over the id's
/// bytes after CSV unquoting — the hash libCacheSim gives string ids, so a CSV trace
/// read with `obj-id-is-num=false` yields exactly libCacheSim's ids. Fixed across
/// runs, machines and TierKit versions.
public enum ObjectIdHash {
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 { XXH3.hash64(bytes) }

    public static func hash(_ string: String) -> UInt64 { XXH3.hash64(string) }
}

/// Room to unescape a quoted field before hashing it; grows to the longest such
/// field, so steady-state reading allocates nothing.
final class UnescapeBuffer {
    private(set) var pointer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
    private var capacity = 256

    deinit { pointer.deallocate() }

    /// The bytes of `[a, b)` with every doubled quote made single.
    func unescape(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> UnsafeRawBufferPointer {
        if b - a > capacity {
            pointer.deallocate()
            capacity = b - a
            pointer = .allocate(byteCount: capacity, alignment: 8)
        }
        var n = 0
        var i = a
        while i < b {
            pointer.storeBytes(of: p[i], toByteOffset: n, as: UInt8.self)
            n += 1
            i += p[i] == 34 ? 2 : 1
        }
        return UnsafeRawBufferPointer(start: pointer, count: n)
    }
}

/// Byte-level parsing shared by the text readers.
@usableFromInline
enum TextParse {
    @inlinable @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }

    /// A decimal unsigned integer filling `[from, to)`, or nil.
    @inlinable
    static func unsigned(_ p: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> UInt64? {
        if from >= to { return nil }
        var v: UInt64 = 0
        for i in from..<to {
            let d = p[i] &- 48
            if d >= 10 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    /// Up to 40 bytes of a field, for error messages.
    static func show(_ p: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> String {
        let end = min(to, from + 40)
        var s = "\""
        for i in from..<end {
            let b = p[i]
            if b >= 32 && b < 127 && b != 34 && b != 92 {
                s.unicodeScalars.append(UnicodeScalar(b))
            } else if b == 34 {
                s += "\\\""
            } else if b == 92 {
                s += "\\\\"
            } else if b == 9 {
                s += "\\t"
            } else {
                let hex = String(b, radix: 16)
                s += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        if to > end { s += "..." }
        return s + "\""
    }
}

/// Streams a CSV trace one line at a time, in constant memory and without
/// allocating per request.
///
/// Zero-size requests are skipped (libCacheSim's `ignore_size_zero_req`); in object
/// mode every size reads as 1. Errors name the file, line, column and what was expected.
public struct CSVReader: RequestSource {
    /// Column header names known without options.
    public static let timeNames = ["time", "timestamp", "clock_time"]
    public static let idNames = ["id", "obj_id", "object_id", "key"]
    public static let sizeNames = ["size", "obj_size", "object_size"]
    public static let nextAccessNames = ["next_access", "next_access_vtime"]

    private let input: ByteInput
    private let objectMode: Bool
    private let delimiter: UInt8
    private let idMode: CSVOptions.IdMode
    /// 1-based field numbers, 0 when absent.
    private let timeIndex: Int, idIndex: Int, sizeIndex: Int, nextIndex: Int
    private let lastIndex: Int
    /// Column labels for messages, indexed by 1-based field number.
    private let labels: [String]
    private let unescapeBuffer = UnescapeBuffer()
    private var line: Int64 = 0
    public private(set) var skippedRequests: Int64 = 0
    public let hasNextAccess: Bool
    /// The header's column names (empty without a header).
    public let header: [String]

    /// Opens `path`, reads the header if there is one and resolves the columns.
    public init(path: String, options: CSVOptions = CSVOptions(), objectMode: Bool = false) throws(TraceError) {
        let probe = try ByteInput(path: path, bufferSize: 1 << 16)
        var firstLine: [UInt8] = []
        if let l = try probe.readLine() { firstLine = Array(l) }
        if firstLine.starts(with: [0xEF, 0xBB, 0xBF]) { firstLine.removeFirst(3) }

        let delimiter = options.delimiter ?? Self.detectDelimiter(firstLine)
        let firstFields = Self.splitFields(firstLine, delimiter)
        func lower(_ s: String) -> String { s.lowercased() }
        let known = Set((Self.timeNames + Self.idNames + Self.sizeNames + Self.nextAccessNames).map(lower))
        var named: Set<String> = []
        var numberedValues: [Int] = []
        for c in [options.time, options.size, options.nextAccess] {
            if case .number(let n)? = c { numberedValues.append(n) }
        }
        for c in [options.time, options.id, options.size, options.nextAccess] {
            if case .name(let s)? = c { named.insert(lower(s)) }
        }
        let hasHeader: Bool
        if let h = options.hasHeader {
            hasHeader = h
        } else if firstFields.contains(where: { known.contains(lower($0)) || named.contains(lower($0)) }) {
            hasHeader = true
        } else {
            hasHeader = numberedValues.contains { n in
                n <= firstFields.count && !firstFields[n - 1].utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 }
            }
        }
        let header = hasHeader ? firstFields : []
        let columnList = header.isEmpty ? "" : header.joined(separator: ", ")

        func resolve(_ c: CSVOptions.Column?, _ defaults: [String], _ key: String) throws(TraceError) -> Int {
            switch c {
            case .absent?:
                return 0
            case .number(let n)?:
                if n < 1 { throw TraceError(path: path, location: .file, message: "\(key): column numbers start at 1") }
                return n
            case .name(let s)?:
                guard hasHeader else {
                    throw TraceError(path: path, location: .line(1), message: "\(key)=\(s) names a column, but the file has no header line (give a 1-based column number)")
                }
                if let i = header.firstIndex(where: { lower($0) == lower(s) }) { return i + 1 }
                throw TraceError(path: path, location: .line(1), message: "unknown column '\(s)' for \(key); the header has columns: \(columnList)")
            case nil:
                for d in defaults {
                    if let i = header.firstIndex(where: { lower($0) == d }) { return i + 1 }
                }
                return 0
            }
        }
        let t = try resolve(options.time, Self.timeNames, "time-col")
        let i = try resolve(options.id, Self.idNames, "obj-id-col")
        let s = try resolve(options.size, Self.sizeNames, "obj-size-col")
        let n = try resolve(options.nextAccess, Self.nextAccessNames, "next-access-col")
        if i == 0 {
            if hasHeader {
                throw TraceError(path: path, location: .line(1), message: "no object id column: name one with obj-id-col= (the header has columns: \(columnList))")
            }
            throw TraceError(path: path, location: .line(1), message: "no header line and no obj-id-col: give the columns by number, e.g. time-col=1,obj-id-col=2,obj-size-col=3")
        }
        let used = [t, i, s, n].filter { $0 != 0 }
        if Set(used).count != used.count {
            throw TraceError(path: path, location: .file, message: "two fields read the same column (time \(t), id \(i), size \(s), next access \(n))")
        }
        let last = used.max() ?? 0
        var labels = [String](repeating: "", count: last + 1)
        for (index, role) in [(t, "time-col"), (i, "obj-id-col"), (s, "obj-size-col"), (n, "next-access-col")] where index != 0 {
            labels[index] = index <= header.count ? "column '\(header[index - 1])'" : "column \(index) (\(role))"
        }

        self.input = try ByteInput(path: path)
        self.objectMode = objectMode
        self.delimiter = delimiter
        self.idMode = options.idMode
        self.timeIndex = t
        self.idIndex = i
        self.sizeIndex = s
        self.nextIndex = n
        self.lastIndex = last
        self.labels = labels
        self.hasNextAccess = n != 0
        self.header = header
        if hasHeader {
            _ = try input.readLine()
            line = 1
        }
    }

    /// libCacheSim's delimiter guess: the most frequent of tab, comma, `|`, `:` in the
    /// first line, each count weighted 4, 3, 2, 1; a comma when none occurs.
    static func detectDelimiter(_ line: [UInt8]) -> UInt8 {
        let candidates: [UInt8] = [9, 44, 124, 58]
        var best: UInt8 = 44, bestScore = 0
        for (k, c) in candidates.enumerated() {
            let score = line.reduce(0) { $0 + ($1 == c ? 1 : 0) } * (4 - k)
            if score > bestScore { bestScore = score; best = c }
        }
        return best
    }

    /// Splits a line into trimmed, unquoted fields (header handling only).
    static func splitFields(_ line: [UInt8], _ delimiter: UInt8) -> [String] {
        var fields: [String] = []
        var current: [UInt8] = []
        var quoted = false
        var i = 0
        while i < line.count {
            let b = line[i]
            if quoted {
                if b == 34 {
                    if i + 1 < line.count && line[i + 1] == 34 { current.append(34); i += 1 } else { quoted = false }
                } else {
                    current.append(b)
                }
            } else if b == 34 && current.allSatisfy({ $0 == 32 }) {
                current = []
                quoted = true
            } else if b == delimiter {
                fields.append(String(decoding: current, as: UTF8.self).trimmingSpaces())
                current = []
            } else {
                current.append(b)
            }
            i += 1
        }
        fields.append(String(decoding: current, as: UTF8.self).trimmingSpaces())
        return fields
    }

    public mutating func next() throws(TraceError) -> Request? {
        while true {
            guard let bytes = try input.readLine() else { return nil }
            line += 1
            var from = 0
            if line == 1 && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { from = 3 }
            if from == bytes.count { continue } // empty line
            var request = Request(time: 0, id: 0, size: 1)
            try parse(bytes, from: from, into: &request)
            if request.size == 0 {
                skippedRequests += 1
                continue
            }
            if objectMode { request.size = 1 }
            return request
        }
    }

    private func parse(_ p: UnsafeRawBufferPointer, from start: Int, into r: inout Request) throws(TraceError) {
        let n = p.count
        var pos = start
        var field = 1
        while true {
            // Field bounds, with surrounding spaces trimmed and quotes removed.
            var a = pos
            while a < n && p[a] == 32 && delimiter != 32 { a += 1 }
            var contentStart = a, contentEnd: Int, next: Int
            var escaped = false
            if a < n && p[a] == 34 {
                contentStart = a + 1
                var j = contentStart
                var closed = false
                while j < n {
                    if p[j] == 34 {
                        if j + 1 < n && p[j + 1] == 34 { escaped = true; j += 2; continue }
                        closed = true
                        break
                    }
                    j += 1
                }
                if !closed {
                    throw TraceError(path: input.path, location: .line(line), message: "\(label(field)): unterminated quoted field")
                }
                contentEnd = j
                var k = j + 1
                while k < n && p[k] == 32 && delimiter != 32 { k += 1 }
                if k < n && p[k] != delimiter {
                    throw TraceError(path: input.path, location: .line(line), message: "\(label(field)): expected '\(Self.show(delimiter))' after a quoted field, found \(TextParse.show(p, k, n))")
                }
                next = k
            } else {
                var j = a
                while j < n && p[j] != delimiter { j += 1 }
                next = j
                var e = j
                while e > a && p[e - 1] == 32 && delimiter != 32 { e -= 1 }
                contentEnd = e
            }
            if field == idIndex {
                r.id = try parseId(p, contentStart, contentEnd, escaped: escaped, field: field)
            } else if field == sizeIndex {
                guard let v = TextParse.unsigned(p, contentStart, contentEnd), v <= UInt64(Int64.max) else {
                    throw expected("an unsigned integer", p, contentStart, contentEnd, field)
                }
                r.size = Int64(v)
            } else if field == timeIndex {
                r.time = try parseTime(p, contentStart, contentEnd, field: field)
            } else if field == nextIndex {
                r.nextAccess = try parseNextAccess(p, contentStart, contentEnd, field: field)
            }
            if field >= lastIndex { return }
            if next >= n {
                throw TraceError(path: input.path, location: .line(line),
                                 message: "expected at least \(lastIndex) fields separated by '\(Self.show(delimiter))', found \(field) (\(label(lastIndex)) is missing)")
            }
            pos = next + 1
            field += 1
        }
    }

    private func parseId(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, escaped: Bool, field: Int) throws(TraceError) -> UInt64 {
        if idMode != .hashed, !escaped, let v = TextParse.unsigned(p, a, b) { return v }
        if idMode == .numeric {
            throw expected("an unsigned integer object id (obj-id-is-num=true)", p, a, b, field)
        }
        if a == b { throw expected("an object id", p, a, b, field) }
        // A doubled quote inside a quoted field stands for one quote.
        if escaped { return ObjectIdHash.hash(unescapeBuffer.unescape(p, a, b)) }
        return ObjectIdHash.hash(UnsafeRawBufferPointer(rebasing: p[a..<b]))
    }

    /// An unsigned integer, or a decimal whose fraction is dropped (libCacheSim casts `atof`).
    private func parseTime(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, field: Int) throws(TraceError) -> UInt64 {
        var end = a
        while end < b && TextParse.isDigit(p[end]) { end += 1 }
        if end < b && p[end] == 46 {
            var k = end + 1
            while k < b && TextParse.isDigit(p[k]) { k += 1 }
            if k == b && end > a, let v = TextParse.unsigned(p, a, end) { return v }
        } else if let v = TextParse.unsigned(p, a, b) {
            return v
        }
        throw expected("an unsigned integer time", p, a, b, field)
    }

    private func parseNextAccess(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, field: Int) throws(TraceError) -> Int64 {
        if b - a == 2 && p[a] == 45 && p[a + 1] == 49 { return Request.never }
        guard let v = TextParse.unsigned(p, a, b), v < UInt64(Int64.max) else {
            throw expected("a request index or -1", p, a, b, field)
        }
        return Int64(v)
    }

    private func expected(_ what: String, _ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, _ field: Int) -> TraceError {
        TraceError(path: input.path, location: .line(line), message: "\(label(field)): expected \(what), found \(TextParse.show(p, a, b))")
    }

    private func label(_ field: Int) -> String {
        field < labels.count && !labels[field].isEmpty ? labels[field] : "column \(field)"
    }

    static func show(_ delimiter: UInt8) -> String {
        delimiter == 9 ? "\\t" : String(UnicodeScalar(delimiter))
    }
}

/// Streams a plain-text trace: one object id per line, every size 1, time 0
/// (libCacheSim's `txt` format). Blank lines are skipped; ids follow ``CSVOptions/IdMode``.
public struct TextReader: RequestSource {
    private let input: ByteInput
    private let idMode: CSVOptions.IdMode
    private var line: Int64 = 0
    public var hasNextAccess: Bool { false }

    public init(path: String, idMode: CSVOptions.IdMode = .auto) throws(TraceError) {
        self.input = try ByteInput(path: path)
        self.idMode = idMode
    }

    public mutating func next() throws(TraceError) -> Request? {
        while true {
            guard let p = try input.readLine() else { return nil }
            line += 1
            var a = 0, b = p.count
            if line == 1 && b >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { a = 3 }
            while a < b && (p[a] == 32 || p[a] == 9) { a += 1 }
            while b > a && (p[b - 1] == 32 || p[b - 1] == 9) { b -= 1 }
            if a == b { continue }
            if idMode != .hashed, let v = TextParse.unsigned(p, a, b) {
                return Request(time: 0, id: v, size: 1)
            }
            if idMode == .numeric {
                throw TraceError(path: input.path, location: .line(line), message: "expected an unsigned integer object id, found \(TextParse.show(p, a, b))")
            }
            return Request(time: 0, id: ObjectIdHash.hash(UnsafeRawBufferPointer(rebasing: p[a..<b])), size: 1)
        }
    }
}
