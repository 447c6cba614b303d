/// A partial record at the end of a `.tkt` file: what a writer killed in the
/// middle of a `write(2)` leaves. Not an error: every record before it is whole.
public struct PageTraceTornTail: Sendable, Equatable, CustomStringConvertible {
    /// Byte offset where the partial record starts.
    public var offset: Int64
    /// Bytes of it present (1 to 31).
    public var length: Int
    /// Index the record would have had.
    public var recordIndex: Int64

    public init(offset: Int64, length: Int, recordIndex: Int64) {
        self.offset = offset
        self.length = length
        self.recordIndex = recordIndex
    }

    public var description: String {
        "torn tail: a partial record of \(length) of \(PageTraceFormat.recordSize) bytes at byte offset \(offset) (record \(recordIndex)) was ignored"
    }
}

/// Streams the records of a `.tkt` file in constant memory.
///
/// The header is read and checked on open. A partial record at the end of the file
/// ends the stream and is reported in ``tornTail``; an unknown kind, a non-zero
/// reserved byte or a zero count is a ``TraceError`` naming the record and its offset.
public struct PageTraceReader {
    public let header: PageTraceHeader
    /// Bytes of the header: the offset of record 0.
    public let headerLength: Int64
    private let input: ByteInput
    /// Records returned so far.
    public private(set) var recordIndex: Int64 = 0
    /// Set when the stream ended at a partial record.
    public private(set) var tornTail: PageTraceTornTail?

    public var path: String { input.path }

    /// Opens `path` and reads its header.
    public init(path: String) throws(TraceError) {
        let input = try ByteInput(path: path)
        self.input = input
        func fail(_ offset: Int, _ message: String) -> TraceError {
            TraceError(path: path, location: .header(offset: Int64(offset)), message: message)
        }
        let fixed = try input.take(PageTraceFormat.fixedHeaderSize)
        let magicPresent = min(fixed.count, 4)
        for i in 0..<magicPresent where fixed[i] != PageTraceFormat.magic[i] {
            let found = fixed.prefix(4).map { b in b >= 32 && b < 127 ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16) }.joined()
            throw fail(0, "not a .tkt page trace: expected the magic \"TKT1\", found \"\(found)\"")
        }
        guard fixed.count == PageTraceFormat.fixedHeaderSize else {
            throw fail(fixed.count, "truncated header: the file ends after \(fixed.count) of the \(PageTraceFormat.fixedHeaderSize) fixed header bytes")
        }
        let version = UInt16(littleEndian: fixed.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        guard version == PageTraceFormat.version else {
            throw fail(4, "unsupported version \(version) (this reader knows version \(PageTraceFormat.version))")
        }
        let recordSize = UInt16(littleEndian: fixed.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        guard recordSize == UInt16(PageTraceFormat.recordSize) else {
            throw fail(6, "record size \(recordSize), expected \(PageTraceFormat.recordSize)")
        }
        let length = UInt32(littleEndian: fixed.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard length >= UInt32(PageTraceFormat.fixedHeaderSize), length <= UInt32(PageTraceFormat.maxHeaderSize), length % 8 == 0 else {
            throw fail(8, "header length \(length): expected a multiple of 8 from \(PageTraceFormat.fixedHeaderSize) to \(PageTraceFormat.maxHeaderSize)")
        }
        let entryCount = UInt32(littleEndian: fixed.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard entryCount <= length / 6 else {
            throw fail(12, "\(entryCount) entries cannot fit a header of \(length) bytes")
        }
        var all = [UInt8](fixed)
        let rest = try input.take(Int(length) - PageTraceFormat.fixedHeaderSize)
        all += rest
        guard all.count == Int(length) else {
            throw fail(all.count, "truncated header: the file ends after \(all.count) of its \(length) header bytes")
        }
        let decoded = all.withUnsafeBytes { b in
            Result { () throws(TraceError) -> PageTraceHeader in try PageTraceFormat.decode(b, path: path) }
        }
        self.header = try decoded.get()
        self.headerLength = Int64(length)
    }

    /// Records in the file, from its size (a partial record at the end not counted);
    /// nil for a pipe.
    public var recordCountFromSize: Int64? {
        guard let size = input.fileSize else { return nil }
        return max(0, size - headerLength) / Int64(PageTraceFormat.recordSize)
    }

    /// The next record, or nil at the end (or at a torn tail, see ``tornTail``).
    public mutating func next() throws(TraceError) -> PageTraceRecord? {
        let offset = inputOffset
        let bytes = try take()
        if bytes.count < PageTraceFormat.recordSize {
            if bytes.count > 0 { markTorn(offset: offset, length: bytes.count) }
            return nil
        }
        let raw = bytes.load(fromByteOffset: 28, as: UInt8.self)
        let reserved = bytes.load(fromByteOffset: 29, as: UInt8.self)
        let count = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
        guard let kind = PageEventKind(rawValue: raw), reserved == 0, count > 0 || kind == .damonRegion else {
            throw invalid(offset: offset, kind: raw, reserved: reserved, count: count)
        }
        recordIndex += 1
        return PageTraceRecord(
            time: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            address: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            pid: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
            tid: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self)),
            kind: kind,
            flags: PageEventFlags(rawValue: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 30, as: UInt16.self))),
            count: count)
    }

    private var inputOffset: Int64 { input.offset }

    private func take() throws(TraceError) -> UnsafeRawBufferPointer {
        try input.take(PageTraceFormat.recordSize)
    }

    private mutating func markTorn(offset: Int64, length: Int) {
        tornTail = PageTraceTornTail(offset: offset, length: length, recordIndex: recordIndex)
    }

    private func invalid(offset: Int64, kind: UInt8, reserved: UInt8, count: UInt32) -> TraceError {
        let message: String
        if PageEventKind(rawValue: kind) == nil {
            message = "byte 28: unknown event kind \(kind) (known: 1 to \(PageEventKind.tableSize - 1))"
        } else if reserved != 0 {
            message = "byte 29: reserved byte is \(reserved), must be 0"
        } else {
            message = "bytes 24-27: count is 0, must be at least 1 (0 only for a damon_region)"
        }
        return TraceError(path: input.path, location: .record(index: recordIndex, offset: offset), message: message)
    }
}
