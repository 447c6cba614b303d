#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Small whole-file reads and writes of /proc and /sys files, with errors that name the file.
public enum HostFile {
    /// The file's contents as text (read to the end; /proc files report size 0).
    public static func read(_ path: String) throws(SystemCallError) -> String {
        let bytes = try readBytes(path)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The file's contents as bytes.
    public static func readBytes(_ path: String) throws(SystemCallError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError.fromErrno("open \(path)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError.fromErrno("read \(path)")
            }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// Writes `text` in one write(2), as sysfs and /proc control files expect.
    public static func write(_ text: String, to path: String) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError.fromErrno("open \(path) for writing") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw SystemCallError.fromErrno("write '\(text)' to \(path)") }
        guard n == bytes.count else {
            throw SystemCallError("write '\(text)' to \(path)", errno: 0, detail: "short write: \(n) of \(bytes.count) bytes")
        }
    }

    /// Whether a path exists.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// A located parse error: `parse FILE` failed at `line N: message`.
    static func parseError(_ file: String, line: Int, _ message: String) -> SystemCallError {
        SystemCallError("parse \(file)", errno: 0, detail: "line \(line): \(message)")
    }
}

/// The host's base page size.
public let hostPageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))
