#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file read through a fixed buffer with POSIX `read`, so a trace
/// of any length streams in constant memory.
public final class ByteInput {
    public let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    /// Valid bytes in `buffer` are `[start, end)`.
    private var start = 0
    private var end = 0
    /// File offset of `buffer[0]`.
    private var bufferOffset: Int64 = 0
    private var eof = false

    /// Opens `path` for reading. Throws a located error naming the file and the reason.
    public init(path: String, bufferSize: Int = 1 << 20) throws(TraceError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw TraceError(path: path, location: .file, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.capacity = bufferSize
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Size of the file in bytes, or nil for a pipe.
    public var fileSize: Int64? {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// The file offset of the next unread byte.
    public var offset: Int64 { bufferOffset + Int64(start) }

    /// Refills so that at least `count` bytes are buffered, if the file has them.
    /// Returns the number of buffered bytes (less than `count` only at end of file).
    @usableFromInline
    func fill(_ count: Int) throws(TraceError) -> Int {
        precondition(count <= capacity)
        if end - start >= count || eof { return end - start }
        if start > 0 {
            let live = end - start
            if live > 0 { buffer.copyMemory(from: buffer + start, byteCount: live) }
            bufferOffset += Int64(start)
            start = 0
            end = live
        }
        while end - start < count && !eof {
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceError(path: path, location: .file, message: "read failed at byte \(bufferOffset + Int64(end)): \(String(cString: strerror(errno)))")
            }
            if n == 0 { eof = true }
            end += n
        }
        return end - start
    }

    /// Gives up to `count` contiguous bytes (fewer only at end of file) and consumes them.
    @inlinable
    public func take(_ count: Int) throws(TraceError) -> UnsafeRawBufferPointer {
        let available = try fill(count)
        let n = min(available, count)
        let chunk = UnsafeRawBufferPointer(start: pointer, count: n)
        advance(n)
        return chunk
    }

    @usableFromInline var pointer: UnsafeRawPointer { UnsafeRawPointer(buffer + start) }
    @usableFromInline func advance(_ n: Int) { start += n }

    /// Reads one line without its terminator ("\n" or "\r\n"); nil at end of file.
    /// The returned bytes are valid until the next call.
    public func readLine() throws(TraceError) -> UnsafeRawBufferPointer? {
        var scanned = 0
        while true {
            let available = end - start
            if let idx = memchrIndex(from: scanned, count: available - scanned) {
                var length = idx
                if length > 0 && buffer.load(fromByteOffset: start + length - 1, as: UInt8.self) == 13 { length -= 1 }
                let line = UnsafeRawBufferPointer(start: pointer, count: length)
                start += idx + 1
                return line
            }
            scanned = available
            if eof {
                if available == 0 { return nil }
                var length = available
                if buffer.load(fromByteOffset: start + length - 1, as: UInt8.self) == 13 { length -= 1 }
                let line = UnsafeRawBufferPointer(start: pointer, count: length)
                start = end
                return line
            }
            if available >= capacity {
                throw TraceError(path: path, location: .file, message: "a line at byte \(offset) is longer than \(capacity) bytes")
            }
            _ = try fill(available + 1)
        }
    }

    private func memchrIndex(from: Int, count: Int) -> Int? {
        guard count > 0 else { return nil }
        guard let hit = memchr(buffer + start + from, 10, count) else { return nil }
        return hit - (buffer + start)
    }
}
