/// Streams libCacheSim's `oracleGeneral` binary traces: packed little-endian
/// 24-byte records `<u32 time, u64 id, u32 size, i64 next_access_vtime>`.
///
/// Zero-size requests are skipped and `-1` next-access becomes ``Request/never``,
/// as libCacheSim's reader does. In object mode every size reads as 1.
public struct OracleGeneralReader: RequestSource {
    public static let recordSize = 24
    private let input: ByteInput
    private let objectMode: Bool
    private var recordIndex: Int64 = 0
    @usableFromInline var skipped: Int64 = 0

    public var hasNextAccess: Bool { true }
    public var skippedRequests: Int64 { skipped }

    public init(path: String, objectMode: Bool = false) throws(TraceError) {
        self.input = try ByteInput(path: path)
        self.objectMode = objectMode
        if let size = input.fileSize, size % Int64(Self.recordSize) != 0 {
            // Refused up front, so the mistake shows before a long run; a pipe is
            // still caught when the reader reaches the partial record.
            let whole = size / Int64(Self.recordSize)
            throw Self.truncated(path: path, index: whole, offset: whole * Int64(Self.recordSize),
                                 bytes: Int(size % Int64(Self.recordSize)))
        }
    }

    static func truncated(path: String, index: Int64, offset: Int64, bytes: Int) -> TraceError {
        TraceError(path: path, location: .record(index: index, offset: offset),
                   message: "truncated record: \(bytes) of \(recordSize) bytes (oracleGeneral records are <u32 time, u64 id, u32 size, i64 next access>)")
    }

    @inlinable
    public mutating func next() throws(TraceError) -> Request? {
        while true {
            guard let r = try nextRecord() else { return nil }
            if r.size == 0 {
                skipped &+= 1
                continue
            }
            return r
        }
    }

    @usableFromInline
    mutating func nextRecord() throws(TraceError) -> Request? {
        let offset = input.offset
        let bytes = try input.take(Self.recordSize)
        if bytes.count == 0 { return nil }
        if bytes.count < Self.recordSize {
            throw Self.truncated(path: input.path, index: recordIndex, offset: offset, bytes: bytes.count)
        }
        recordIndex += 1
        let time = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let id = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        let size = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        var next = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self))
        if next < 0 { next = Request.never }
        return Request(time: UInt64(time), id: id, size: objectMode ? (size == 0 ? 0 : 1) : Int64(size), nextAccess: next)
    }
}
