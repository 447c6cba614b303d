#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory; unmapped when the last reference goes.
///
/// Model weights are read in place from the page cache, so opening a model costs no copy and
/// the kernel can drop and re-read clean pages under memory pressure.
public final class GGUFMapping: @unchecked Sendable {
    // Sendable: the mapping is read-only and never changes after init.
    public let path: String
    /// First byte of the file.
    public let base: UnsafeRawPointer
    /// Size of the file (and of the mapping) in bytes.
    public let size: Int

    /// Maps `path`. Throws a located error naming the file and the reason.
    public init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw GGUFError(path: path, location: .file, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError(path: path, location: .file, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(path: path, location: .file, message: "not a regular file")
        }
        let size = Int(st.st_size)
        // mmap refuses a zero length; the header check reports the real problem.
        guard size >= GGUFFile.minimumHeaderSize else {
            throw GGUFError(path: path, location: .offset(0),
                            message: "file is \(size) bytes, expected at least \(GGUFFile.minimumHeaderSize) (the GGUF header)")
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1) else {  // MAP_FAILED
            throw GGUFError(path: path, location: .file, message: "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(p)
        self.size = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), size)
    }

    /// The mapped bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
