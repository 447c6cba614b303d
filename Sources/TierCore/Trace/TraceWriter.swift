/// Formats TierKit writes.
public enum TraceOutputFormat: String, Sendable, CaseIterable {
    /// libCacheSim's oracleGeneral binary: 24-byte records `<u32 time, u64 id, u32 size, i64 next access>`.
    case oracleGeneral = "oracleGeneral"
    /// `time,id,size,next_access` with a header line.
    case csv

    /// Reads a format name as given on a command line (case-insensitive).
    public init?(name: String) {
        switch name.lowercased() {
        case "oraclegeneral", "oracle", "bin": self = .oracleGeneral
        case "csv": self = .csv
        default: return nil
        }
    }

    /// The format a file name suggests: `.csv` is CSV, anything else oracleGeneral.
    public init(path: String) {
        self = path.lowercased().hasSuffix(".csv") ? .csv : .oracleGeneral
    }
}

/// Where written next-access indexes come from.
public enum NextAccessMode: Sendable {
    /// The source's own when it carries them and dropped no records; computed otherwise.
    case keep
    /// Always computed from the written requests.
    case recompute
}

/// What ``TraceWriter/write(_:to:format:nextAccess:)`` did.
public struct TraceWriteSummary: Sendable, Equatable {
    /// Requests written.
    public var requests: Int64 = 0
    /// Records the reader dropped (zero-size requests).
    public var skipped: Int64 = 0
    /// Whether next-access indexes were computed by the backward pass.
    public var computedNextAccess = false
    /// Bytes the backward pass's id table held at its peak (0 when not run).
    public var tableBytes = 0
}

/// Writes request streams as oracleGeneral or CSV, computing next-access indexes
/// when the input has none.
///
/// Next access is the 1-based index of the next request to the same object, `-1`
/// when there is none — libCacheSim's convention, so request `i` (0-based) whose
/// object is next requested at 0-based `j` stores `j + 1`.
///
/// How it streams: the first pass writes every request as an oracleGeneral record
/// (next access `-1` unless kept from the input). The backward pass then reads that
/// file back from its end in blocks of 65,536 records (1.5 MiB), walks each block
/// backwards with an ``IdTable`` from object id to the 1-based index where it was
/// last seen, and writes the patched block back in place. CSV output goes through a
/// temporary oracleGeneral file beside the output (24 bytes per request on disk),
/// which is then rendered as text and removed.
public enum TraceWriter {
    /// Records per block of the backward pass.
    public static let blockRecords = 1 << 16

    /// The memory the next-access computation needs, for help texts.
    public static let memoryNote = """
        Next access is computed only when the input has none (or dropped zero-size \
        records). It needs no memory per request: ids are read back from the written \
        file. Memory: one id table of 12 bytes per slot, its slot count the smallest \
        power of two >= 2 x unique objects, i.e. 24 to 48 bytes per unique object \
        (72 for a moment while it doubles; 1 M objects: 24-48 MiB), plus a 1.5 MiB \
        block buffer. CSV output also needs 24 bytes per request of temporary disk \
        beside OUT. Limit: 2,147,483,646 requests.
        """

    /// Largest request count whose indexes fit the id table's 32-bit values.
    public static let maxRequestsForNextAccess: Int64 = Int64(Int32.max) - 1

    /// Streams `source` to `path`. Throws located errors for input problems and for
    /// values the oracleGeneral layout cannot hold (time or size above 2^32 - 1).
    public static func write<S: RequestSource>(_ source: inout S, to path: String, format: TraceOutputFormat,
                                               nextAccess: NextAccessMode = .keep) throws(TraceError) -> TraceWriteSummary {
        let binaryPath = format == .oracleGeneral ? path : path + ".tierkit-\(processId()).tmp"
        let out = try ByteOutput(path: binaryPath)
        var summary = TraceWriteSummary()
        let keep = nextAccess == .keep && source.hasNextAccess
        do throws(TraceError) {
            var index: Int64 = 0
            while let r = try source.next() {
                guard r.time <= UInt64(UInt32.max) else {
                    throw TraceError(path: path, location: .record(index: index, offset: index * 24),
                                     message: "time \(r.time) does not fit oracleGeneral's 32-bit time field")
                }
                guard r.size >= 0 && r.size <= Int64(UInt32.max) else {
                    throw TraceError(path: path, location: .record(index: index, offset: index * 24),
                                     message: "size \(r.size) does not fit oracleGeneral's 32-bit size field")
                }
                try out.write(littleEndian: UInt32(r.time))
                try out.write(littleEndian: r.id)
                try out.write(littleEndian: UInt32(r.size))
                try out.write(littleEndian: keep && r.nextAccess != Request.never ? r.nextAccess : Int64(-1))
                index += 1
            }
            summary.requests = index
            summary.skipped = source.skippedRequests
            if !keep || summary.skipped > 0 {
                summary.tableBytes = try fillNextAccess(out, records: index)
                summary.computedNextAccess = true
            }
            if format == .csv {
                try out.close()
                try renderCSV(from: binaryPath, to: path)
                removeFile(binaryPath)
            } else {
                try out.close()
            }
        } catch {
            // Leave no partial output that could pass for a complete trace.
            removeFile(binaryPath)
            if format == .csv { removeFile(path) }
            throw error
        }
        return summary
    }

    /// Fills the next-access field of the `records` oracleGeneral records in `file`,
    /// walking backwards one block at a time. Returns the id table's size in bytes.
    static func fillNextAccess(_ file: ByteOutput, records: Int64) throws(TraceError) -> Int {
        guard records <= maxRequestsForNextAccess else {
            throw TraceError(path: file.path, location: .file, message: "computing next access supports up to \(maxRequestsForNextAccess) requests; this trace has \(records)")
        }
        let size = OracleGeneralReader.recordSize
        let block = UnsafeMutableRawPointer.allocate(byteCount: blockRecords * size, alignment: 16)
        defer { block.deallocate() }
        let lastSeen = IdTable(expected: 1024)
        var end = records
        while end > 0 {
            let start = max(0, end - Int64(blockRecords))
            let n = Int(end - start)
            try file.read(into: block, count: n * size, at: start * Int64(size))
            var j = n - 1
            while j >= 0 {
                let id = UInt64(littleEndian: block.loadUnaligned(fromByteOffset: j * size + 4, as: UInt64.self))
                let next: Int64 = lastSeen.find(id).map { Int64($0) } ?? -1
                lastSeen.set(id, Int32(truncatingIfNeeded: start + Int64(j) + 1))
                block.storeBytes(of: next.littleEndian, toByteOffset: j * size + 16, as: Int64.self)
                j -= 1
            }
            try file.overwrite(from: block, count: n * size, at: start * Int64(size))
            end = start
        }
        return lastSeen.memoryBytes
    }

    /// Renders an oracleGeneral file as `time,id,size,next_access` lines.
    static func renderCSV(from binaryPath: String, to path: String) throws(TraceError) {
        let input = try ByteInput(path: binaryPath)
        let out = try ByteOutput(path: path)
        try out.write("time,id,size,next_access\n")
        while true {
            let r = try input.take(OracleGeneralReader.recordSize)
            if r.count < OracleGeneralReader.recordSize { break }
            try out.write(decimal: UInt64(UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 0, as: UInt32.self))))
            try out.write(byte: 44)
            try out.write(decimal: UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 4, as: UInt64.self)))
            try out.write(byte: 44)
            try out.write(decimal: UInt64(UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 12, as: UInt32.self))))
            try out.write(byte: 44)
            try out.write(decimal: Int64(littleEndian: r.loadUnaligned(fromByteOffset: 16, as: Int64.self)))
            try out.write(byte: 10)
        }
        try out.close()
    }
}

/// Writes whatever source ``TraceSpec/visit(_:)`` opens (a trace conversion).
public struct TraceWriteVisitor: RequestSourceVisitor {
    public var path: String
    public var format: TraceOutputFormat
    public var nextAccess: NextAccessMode

    public init(path: String, format: TraceOutputFormat, nextAccess: NextAccessMode = .keep) {
        self.path = path
        self.format = format
        self.nextAccess = nextAccess
    }

    public mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> TraceWriteSummary {
        try TraceWriter.write(&source, to: path, format: format, nextAccess: nextAccess)
    }
}
