#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written through a fixed buffer with POSIX `write`, with positioned
/// reads and writes for patching records in place.
public final class ByteOutput {
    public let path: String
    private var fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var count = 0
    /// Bytes handed to the file so far (flushed or buffered).
    public private(set) var written: Int64 = 0

    /// Creates or truncates `path` for reading and writing.
    public init(path: String, bufferSize: Int = 1 << 20) throws(TraceError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw TraceError(path: path, location: .file, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.capacity = bufferSize
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        if fd >= 0 { _ = posixClose(fd) }
        buffer.deallocate()
    }

    /// Appends `bytes`.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TraceError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if count + bytes.count > capacity { try flush() }
        if bytes.count > capacity {
            try writeAll(base, bytes.count)
        } else {
            (buffer + count).copyMemory(from: base, byteCount: bytes.count)
            count += bytes.count
        }
        written += Int64(bytes.count)
    }

    /// Appends one byte.
    @inline(__always)
    public func write(byte: UInt8) throws(TraceError) {
        if count == capacity { try flush() }
        buffer.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
        written += 1
    }

    /// Appends a value's little-endian bytes.
    @inline(__always)
    public func write<T: FixedWidthInteger>(littleEndian value: T) throws(TraceError) {
        let n = MemoryLayout<T>.size
        if count + n > capacity { try flush() }
        buffer.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += n
        written += Int64(n)
    }

    /// Appends the decimal digits of `value`.
    public func write(decimal value: Int64) throws(TraceError) {
        if value < 0 {
            try write(byte: 45)
            try write(decimal: value.magnitude)
        } else {
            try write(decimal: UInt64(value))
        }
    }

    /// Appends the decimal digits of `value`.
    public func write(decimal value: UInt64) throws(TraceError) {
        if count + 20 > capacity { try flush() }
        var digits = 1
        var v = value
        while v >= 10 { v /= 10; digits += 1 }
        v = value
        var i = count + digits - 1
        repeat {
            buffer.storeBytes(of: UInt8(48 + v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
            i -= 1
        } while v > 0
        count += digits
        written += Int64(digits)
    }

    /// Appends a string's UTF-8 bytes.
    public func write(_ string: String) throws(TraceError) {
        for b in string.utf8 { try write(byte: b) }
    }

    /// Hands buffered bytes to the file.
    public func flush() throws(TraceError) {
        if count > 0 { try writeAll(buffer, count) }
        count = 0
    }

    private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws(TraceError) {
        var done = 0
        while done < n {
            let r = posixWrite(fd, p + done, n - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw TraceError(path: path, location: .file, message: "write failed: \(String(cString: strerror(errno)))")
            }
            done += r
        }
    }

    /// Reads `count` bytes at `offset` into `into` (after flushing).
    public func read(into: UnsafeMutableRawPointer, count n: Int, at offset: Int64) throws(TraceError) {
        try flush()
        var done = 0
        while done < n {
            let r = pread(fd, into + done, n - done, off_t(offset + Int64(done)))
            if r < 0 {
                if errno == EINTR { continue }
                throw TraceError(path: path, location: .file, message: "read failed at byte \(offset + Int64(done)): \(String(cString: strerror(errno)))")
            }
            if r == 0 {
                throw TraceError(path: path, location: .file, message: "unexpected end of file at byte \(offset + Int64(done))")
            }
            done += r
        }
    }

    /// Overwrites `count` bytes at `offset` (after flushing).
    public func overwrite(from: UnsafeRawPointer, count n: Int, at offset: Int64) throws(TraceError) {
        try flush()
        var done = 0
        while done < n {
            let r = pwrite(fd, from + done, n - done, off_t(offset + Int64(done)))
            if r < 0 {
                if errno == EINTR { continue }
                throw TraceError(path: path, location: .file, message: "write failed at byte \(offset + Int64(done)): \(String(cString: strerror(errno)))")
            }
            done += r
        }
    }

    /// Flushes and closes; further writes fail.
    public func close() throws(TraceError) {
        try flush()
        if fd >= 0 {
            let r = posixClose(fd)
            fd = -1
            if r != 0 {
                throw TraceError(path: path, location: .file, message: "close failed: \(String(cString: strerror(errno)))")
            }
        }
    }
}

// `write` and `close` are also methods here; these reach the C functions.
@inline(__always) func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, p, n)
    #elseif canImport(Musl)
    return Musl.write(fd, p, n)
    #else
    return Glibc.write(fd, p, n)
    #endif
}

@inline(__always) func posixClose(_ fd: Int32) -> Int32 {
    #if canImport(Darwin)
    return Darwin.close(fd)
    #elseif canImport(Musl)
    return Musl.close(fd)
    #else
    return Glibc.close(fd)
    #endif
}

/// Removes a file, ignoring errors (temporary files).
func removeFile(_ path: String) {
    _ = unlink(path)
}

/// The process id, to name temporary files.
func processId() -> Int32 { getpid() }
