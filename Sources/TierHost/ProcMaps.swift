/// One line of /proc/pid/maps: a virtual memory area.
public struct MemoryMapping: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    /// `rwxp` / `r--s` as the kernel writes it.
    public var permissions: String
    public var offset: UInt64
    /// `major:minor` in hex.
    public var device: String
    public var inode: UInt64
    /// The file, `[heap]`, `[stack]`, `[vdso]`, ... or "" for anonymous memory.
    public var path: String

    public init(start: UInt64, end: UInt64, permissions: String, offset: UInt64 = 0, device: String = "00:00", inode: UInt64 = 0, path: String = "") {
        self.start = start
        self.end = end
        self.permissions = permissions
        self.offset = offset
        self.device = device
        self.inode = inode
        self.path = path
    }

    public var range: AddressRange { AddressRange(start: start, length: end - start) }
    public var length: UInt64 { end - start }
    public var isReadable: Bool { permissions.hasPrefix("r") }
    public var isWritable: Bool { permissions.dropFirst().hasPrefix("w") }
    public var isShared: Bool { permissions.hasSuffix("s") }
    /// Private memory not backed by a file (heap and anonymous mmaps; stack too).
    public var isAnonymous: Bool { inode == 0 && (path.isEmpty || path == "[heap]" || path == "[stack]") }
    /// Kernel-provided mappings that must never be advised (`[vdso]`, `[vvar]`, `[vsyscall]`).
    public var isSpecial: Bool { path.hasPrefix("[") && path != "[heap]" && path != "[stack]" }
}

/// /proc/pid/maps.
public enum ProcMaps {
    /// The VMAs of `pid`.
    public static func read(pid: Int32) throws(SystemCallError) -> [MemoryMapping] {
        let file = "/proc/\(pid)/maps"
        return try parse(HostFile.read(file), file: file)
    }

    /// Parses maps text; a malformed line is an error naming `file` and the line.
    public static func parse(_ text: String, file: String) throws(SystemCallError) -> [MemoryMapping] {
        var out: [MemoryMapping] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            out.append(try parseLine(line, file: file, line: lineNumber))
        }
        return out
    }

    /// One maps line (also the header line of each smaps entry).
    static func parseLine(_ line: Substring, file: String, line number: Int) throws(SystemCallError) -> MemoryMapping {
        // start-end perms offset dev inode [path]; the path may contain spaces.
        var rest = line[...]
        func field() -> Substring? {
            while rest.first == " " { rest.removeFirst() }
            guard !rest.isEmpty else { return nil }
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            let f = rest[..<end]
            rest = rest[end...]
            return f
        }
        guard let span = field(), let perms = field(), let off = field(), let dev = field(), let ino = field() else {
            throw HostFile.parseError(file, line: number, "expected 'start-end perms offset dev inode [path]', found '\(line)'")
        }
        let bounds = span.split(separator: "-")
        guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16), let end = UInt64(bounds[1], radix: 16), start <= end else {
            throw HostFile.parseError(file, line: number, "expected a hex range 'start-end', found '\(span)'")
        }
        guard perms.count == 4 else { throw HostFile.parseError(file, line: number, "expected 4 permission characters, found '\(perms)'") }
        guard let offset = UInt64(off, radix: 16) else { throw HostFile.parseError(file, line: number, "expected a hex offset, found '\(off)'") }
        guard dev.contains(":") else { throw HostFile.parseError(file, line: number, "expected a device 'major:minor', found '\(dev)'") }
        guard let inode = UInt64(ino) else { throw HostFile.parseError(file, line: number, "expected an inode number, found '\(ino)'") }
        while rest.first == " " { rest.removeFirst() }
        return MemoryMapping(start: start, end: end, permissions: String(perms), offset: offset,
                             device: String(dev), inode: inode, path: String(rest))
    }
}

/// One VMA of /proc/pid/smaps with the counters policies use (bytes).
public struct SmapsEntry: Sendable, Equatable {
    public var mapping: MemoryMapping
    public var size: Int64 = 0
    public var rss: Int64 = 0
    public var swap: Int64 = 0
    /// Bytes referenced since the last `clear_refs` (or ever).
    public var referenced: Int64 = 0
    public var anonymous: Int64 = 0
    /// Every `Key: N kB` field, in bytes, by key.
    public var fields: [String: Int64] = [:]

    public init(mapping: MemoryMapping) { self.mapping = mapping }
}

/// /proc/pid/smaps and /proc/pid/clear_refs.
public enum Smaps {
    /// The VMAs of `pid` with their counters.
    public static func read(pid: Int32) throws(SystemCallError) -> [SmapsEntry] {
        let file = "/proc/\(pid)/smaps"
        return try parse(HostFile.read(file), file: file)
    }

    /// Parses smaps text: a maps line, then `Key: value [kB]` lines, per VMA.
    public static func parse(_ text: String, file: String) throws(SystemCallError) -> [SmapsEntry] {
        var out: [SmapsEntry] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let colon = line.firstIndex(of: ":"), !line[..<colon].contains(" "), !line[..<colon].contains("-") else {
                out.append(SmapsEntry(mapping: try ProcMaps.parseLine(line, file: file, line: lineNumber)))
                continue
            }
            guard !out.isEmpty else { throw HostFile.parseError(file, line: lineNumber, "a field before the first mapping line") }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].split(separator: " ")
            // VmFlags and THPeligible-style fields are not sizes; keep only `N kB`.
            if key == "VmFlags" { continue }
            guard let first = value.first, let number = Int64(first) else {
                throw HostFile.parseError(file, line: lineNumber, "expected '\(key): N kB', found '\(line)'")
            }
            let bytes = value.count > 1 && value[1] == "kB" ? number * 1024 : number
            var e = out[out.count - 1]
            e.fields[key] = bytes
            switch key {
            case "Size": e.size = bytes
            case "Rss": e.rss = bytes
            case "Swap": e.swap = bytes
            case "Referenced": e.referenced = bytes
            case "Anonymous": e.anonymous = bytes
            default: break
            }
            out[out.count - 1] = e
        }
        return out
    }

    /// Clears the referenced (accessed) bits of all of `pid`'s pages: `echo 1 > clear_refs`.
    public static func clearReferenced(pid: Int32) throws(SystemCallError) {
        try HostFile.write("1", to: "/proc/\(pid)/clear_refs")
    }
}
