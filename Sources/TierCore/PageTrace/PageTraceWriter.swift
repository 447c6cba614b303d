#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends page events to a `.tkt` file, crash-safely.
///
/// The header is written in one `write(2)` to a temporary name beside the target,
/// which is then renamed into place: a file at `path` always has a complete header.
/// Records are buffered and handed to the kernel in whole-record batches, so a
/// process killed at any moment leaves a file that reads back to its last complete
/// record (a `write` cut short by the kill can leave at most one partial record at
/// the end, which ``PageTraceReader`` reports as a torn tail).
///
/// The buffer is flushed when it holds ``FlushPolicy/maxBufferedRecords`` records,
/// when an append finds the oldest buffered record older than
/// ``FlushPolicy/maxDelayNanoseconds``, on ``flushIfDue()`` (for a recorder's idle
/// loop), on ``flush(sync:)`` and on ``close()``. One owner at a time: the writer
/// is not thread-safe.
public final class PageTraceWriter {
    /// When buffered records go to the file.
    public struct FlushPolicy: Sendable {
        /// Records buffered before a write (the buffer's size: 32 bytes each).
        public var maxBufferedRecords: Int
        /// Longest a record waits in the buffer, checked on append and ``flushIfDue()``;
        /// nil flushes by size only.
        public var maxDelayNanoseconds: UInt64?

        public init(maxBufferedRecords: Int = 4096, maxDelayNanoseconds: UInt64? = 1_000_000_000) {
            self.maxBufferedRecords = max(1, maxBufferedRecords)
            self.maxDelayNanoseconds = maxDelayNanoseconds
        }
    }

    public let path: String
    public let header: PageTraceHeader
    public let policy: FlushPolicy
    private var fd: Int32
    private let headerLength: Int64
    private let buffer: UnsafeMutableRawPointer
    private var buffered = 0
    /// CLOCK_MONOTONIC when the oldest buffered record was appended.
    private var oldestBufferedAt: UInt64 = 0
    /// Records appended so far (buffered or written).
    public private(set) var recordsAppended: Int64 = 0
    /// Records handed to the kernel so far.
    public private(set) var recordsWritten: Int64 = 0

    /// Creates (or replaces) `path` with `header` and no records.
    public init(path: String, header: PageTraceHeader, policy: FlushPolicy = FlushPolicy()) throws(TraceError) {
        if let problem = PageTraceFormat.validate(header) {
            throw TraceError(path: path, location: .file, message: "cannot write this header: \(problem)")
        }
        self.path = path
        self.header = header
        self.policy = policy
        let temporary = path + ".tkt-\(getpid()).partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw TraceError(path: path, location: .file, message: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let bytes = PageTraceFormat.encode(header)
        let ok = bytes.withUnsafeBytes { writeAll(fd, $0.baseAddress!, $0.count) }
        if !ok || rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            _ = posixClose(fd)
            _ = unlink(temporary)
            throw TraceError(path: path, location: .file, message: "cannot write the header: \(reason)")
        }
        self.fd = fd
        self.headerLength = Int64(bytes.count)
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: policy.maxBufferedRecords * PageTraceFormat.recordSize, alignment: 16)
    }

    deinit {
        // A writer dropped without close() still leaves its records on disk.
        if fd >= 0 {
            if buffered > 0 { _ = writeAll(fd, buffer, buffered * PageTraceFormat.recordSize) }
            _ = posixClose(fd)
        }
        buffer.deallocate()
    }

    /// Appends one record; writes the buffer when the flush policy says so.
    @inline(__always)
    public func append(_ r: PageTraceRecord) throws(TraceError) {
        guard fd >= 0 else { throw closedError() }
        guard r.count > 0 || r.kind == .damonRegion else {
            throw TraceError(path: path, location: .record(index: recordsAppended, offset: offset(of: recordsAppended)),
                             message: "count must be at least 1")
        }
        let p = buffer + buffered * PageTraceFormat.recordSize
        PageTraceCodec.store(r, to: p)
        if buffered == 0, policy.maxDelayNanoseconds != nil { oldestBufferedAt = monotonicNanoseconds() }
        buffered += 1
        recordsAppended += 1
        if buffered == policy.maxBufferedRecords {
            try flush()
        } else if let delay = policy.maxDelayNanoseconds, monotonicNanoseconds() &- oldestBufferedAt >= delay {
            try flush()
        }
    }

    /// Writes the buffer if its oldest record has waited the policy's delay.
    public func flushIfDue() throws(TraceError) {
        guard buffered > 0, let delay = policy.maxDelayNanoseconds else { return }
        if monotonicNanoseconds() &- oldestBufferedAt >= delay { try flush() }
    }

    /// Hands every buffered record to the kernel in one `write(2)`; with `sync`,
    /// also waits until the file is on stable storage (`fsync`).
    public func flush(sync: Bool = false) throws(TraceError) {
        guard fd >= 0 else { throw closedError() }
        if buffered > 0 {
            guard writeAll(fd, buffer, buffered * PageTraceFormat.recordSize) else {
                throw TraceError(path: path, location: .record(index: recordsWritten, offset: offset(of: recordsWritten)),
                                 message: "write failed: \(String(cString: strerror(errno)))")
            }
            recordsWritten += Int64(buffered)
            buffered = 0
        }
        if sync && fsync(fd) != 0 {
            throw TraceError(path: path, location: .file, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Flushes and closes; later appends fail.
    public func close() throws(TraceError) {
        guard fd >= 0 else { return }
        try flush()
        let r = posixClose(fd)
        fd = -1
        if r != 0 {
            throw TraceError(path: path, location: .file, message: "close failed: \(String(cString: strerror(errno)))")
        }
    }

    private func offset(of record: Int64) -> Int64 {
        headerLength + record * Int64(PageTraceFormat.recordSize)
    }

    private func closedError() -> TraceError {
        TraceError(path: path, location: .file, message: "the writer is closed")
    }
}

/// Writes all `n` bytes, retrying short writes and EINTR. False on error (errno set).
private func writeAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
    var done = 0
    while done < n {
        let r = posixWrite(fd, p + done, n - done)
        if r < 0 {
            if errno == EINTR { continue }
            return false
        }
        done += r
    }
    return true
}

/// CLOCK_MONOTONIC in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// CLOCK_REALTIME in nanoseconds since the Unix epoch.
public func realtimeNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// The 32-byte record layout.
@usableFromInline
enum PageTraceCodec {
    @inlinable @inline(__always)
    static func store(_ r: PageTraceRecord, to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: r.time.littleEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: r.address.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: r.pid.littleEndian, toByteOffset: 16, as: UInt32.self)
        p.storeBytes(of: r.tid.littleEndian, toByteOffset: 20, as: UInt32.self)
        p.storeBytes(of: r.count.littleEndian, toByteOffset: 24, as: UInt32.self)
        p.storeBytes(of: r.kind.rawValue, toByteOffset: 28, as: UInt8.self)
        p.storeBytes(of: UInt8(0), toByteOffset: 29, as: UInt8.self)
        p.storeBytes(of: r.flags.rawValue.littleEndian, toByteOffset: 30, as: UInt16.self)
    }
}
