#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A failed libbpf or kernel operation: what was attempted, on what, and the errno.
public struct BPFError: Error, Equatable, CustomStringConvertible {
    /// The operation, e.g. `"load"` or `"attach program tk_page_fault_user"`.
    public var operation: String
    /// The positive errno the kernel or libbpf reported (0 when not errno-based).
    public var errno: Int32
    /// More context when the errno alone does not explain the failure.
    public var detail: String

    public init(_ operation: String, errno: Int32, detail: String = "") {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// libbpf returns negative errnos; this accepts either sign.
    static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(BPFError) {
        if result < 0 { throw BPFError(operation(), errno: -result) }
    }

    public var description: String {
        var text = "bpf: \(operation) failed"
        if errno != 0 { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
