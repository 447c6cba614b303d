#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A failed system call or host-file operation: what was attempted, on what, and the errno.
///
/// TierHost reports every failure this way so a caller (the daemon, a CLI verb) can print one
/// line that says what failed, on which pid/path, and why.
public struct SystemCallError: Error, Equatable, CustomStringConvertible {
    /// The operation, e.g. `"process_madvise(MADV_PAGEOUT) pid 4242"`.
    public var operation: String
    /// The positive errno (0 when the failure is not errno-based, e.g. a malformed /proc file).
    public var errno: Int32
    /// More context when the errno alone does not explain the failure.
    public var detail: String

    public init(_ operation: String, errno: Int32, detail: String = "") {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// Builds an error from the calling thread's `errno`.
    public static func fromErrno(_ operation: String, detail: String = "") -> SystemCallError {
        SystemCallError(operation, errno: Glibc.errno, detail: detail)
    }

    public var description: String {
        var text = "\(operation) failed"
        if errno != 0 { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
