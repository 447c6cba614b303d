import CTierShims
import TierCore

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A range of another process's address space.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    public var start: UInt64
    public var length: UInt64
    public init(start: UInt64, length: UInt64) {
        self.start = start
        self.length = length
    }
    public var end: UInt64 { start + length }
    public var description: String { "0x\(String(start, radix: 16))-0x\(String(end, radix: 16))" }
}

/// One range process_madvise refused, and why.
public struct AdviseFailure: Sendable, Equatable {
    public var range: AddressRange
    public var errno: Int32
    public init(range: AddressRange, errno: Int32) {
        self.range = range
        self.errno = errno
    }
}

/// What one ``ProcessHandle/advise(_:_:)`` achieved. The kernel's byte count says what it
/// accepted, not what moved: verify with ``PageMap`` or ``Smaps``.
public struct AdviseResult: Sendable, Equatable {
    /// Bytes asked for.
    public var requestedBytes: UInt64 = 0
    /// Bytes the kernel reports as advised.
    public var advisedBytes: UInt64 = 0
    /// process_madvise calls made.
    public var calls: Int = 0
    /// Ranges the kernel refused (e.g. ENOMEM for an unmapped range), in order.
    public var failures: [AdviseFailure] = []
    public init() {}
}

/// A process TierKit acts on, held by a pidfd so that no action can reach a different process
/// that reused the pid. Closes the pidfd when released.
///
/// Creating one refuses pid 1, the calling process and kernel threads: those are never targets.
public final class ProcessHandle: Sendable {
    public let pid: Int32
    /// The pidfd.
    public let descriptor: Int32

    /// Opens a pidfd for `pid` after checking it may be a target.
    public init(pid: Int32) throws(SystemCallError) {
        try Self.checkTargetable(pid: pid)
        let fd = ctiershims_pidfd_open(pid)
        guard fd >= 0 else { throw SystemCallError.fromErrno("pidfd_open pid \(pid)") }
        self.pid = pid
        self.descriptor = fd
        // The checks read /proc/<pid>; repeat them now that the pidfd pins the process, and
        // make sure the pidfd's process still runs (otherwise /proc/<pid> may be a new one).
        // A throwing init of a fully initialised class still runs deinit, which closes the pidfd.
        try Self.checkTargetable(pid: pid)
        guard !hasExited else { throw SystemCallError("open pid \(pid)", errno: ESRCH, detail: "the process exited") }
    }

    deinit { close(descriptor) }

    /// Whether the process has exited (its pidfd polls readable).
    public var hasExited: Bool { ctiershims_pidfd_exited(descriptor) != 0 }

    /// Throws (EPERM) for pid 1, the calling process and kernel threads, and ESRCH for a pid
    /// with no process.
    public static func checkTargetable(pid: Int32) throws(SystemCallError) {
        let op = "target pid \(pid)"
        guard pid > 0 else { throw SystemCallError(op, errno: EINVAL, detail: "not a process id") }
        guard pid != 1 else { throw SystemCallError(op, errno: EPERM, detail: "refused: pid 1 (init) is never a target") }
        guard pid != getpid() else { throw SystemCallError(op, errno: EPERM, detail: "refused: TierKit never acts on itself") }
        let stat: String
        do { stat = try HostFile.read("/proc/\(pid)/stat") } catch {
            throw SystemCallError(op, errno: error.errno == ENOENT ? ESRCH : error.errno, detail: "no such process (\(error))")
        }
        // Fields after the command name (which may hold spaces and parentheses): state is
        // field 3, flags field 9.
        guard let close = stat.utf8.lastIndex(of: UInt8(ascii: ")")) else {
            throw SystemCallError("parse /proc/\(pid)/stat", errno: 0, detail: "line 1: no ')' after the command name")
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 6, let flags = UInt64(fields[6]) else {
            throw SystemCallError("parse /proc/\(pid)/stat", errno: 0, detail: "line 1: field 9 (flags) missing or not a number")
        }
        let pfKthread: UInt64 = 0x0020_0000
        if flags & pfKthread != 0 {
            throw SystemCallError(op, errno: EPERM, detail: "refused: pid \(pid) is a kernel thread")
        }
        // A user process has an executable; a kernel thread has none (readlink gives ENOENT).
        var buffer = [CChar](repeating: 0, count: 4096)
        if readlink("/proc/\(pid)/exe", &buffer, buffer.count) < 0 && errno == ENOENT {
            throw SystemCallError(op, errno: EPERM, detail: "refused: pid \(pid) has no executable (kernel thread or exiting)")
        }
    }

    /// process_madvise over `ranges` in batches of up to IOV_MAX iovecs. A range the kernel
    /// refuses is recorded in ``AdviseResult/failures`` and the rest still go; the whole call
    /// fails only when the process is gone (ESRCH) or the advice/permission is refused for all
    /// (EINVAL, EPERM, EBADF).
    public func advise(_ ranges: [AddressRange], _ advice: PagingAdvice) throws(SystemCallError) -> AdviseResult {
        let value = Self.madviseValue(advice)
        let op = "process_madvise(MADV_\(advice.rawValue.uppercased())) pid \(pid)"
        var result = AdviseResult()
        let list = ranges.filter { $0.length > 0 }.map { ctiershims_range(start: $0.start, length: $0.length) }
        result.requestedBytes = list.reduce(0) { $0 + $1.length }
        var i = 0
        while i < list.count {
            let n = min(Int(CTIERSHIMS_IOV_MAX), list.count - i)
            let total = list[i..<i + n].reduce(UInt64(0)) { $0 + $1.length }
            var r = list.withUnsafeBufferPointer { ctiershims_process_madvise(descriptor, $0.baseAddress! + i, n, value) }
            let callErrno = r < 0 ? errno : 0
            result.calls += 1
            if r < 0 && callErrno == EINTR { continue }
            if r >= 0 && UInt64(r) == total {
                result.advisedBytes += total
                i += n
                continue
            }
            if r < 0 {
                if [ESRCH, EINVAL, EPERM, EBADF].contains(callErrno) {
                    throw SystemCallError(op, errno: callErrno, detail: "after \(result.advisedBytes) bytes advised")
                }
                r = 0
            }
            // The kernel stopped inside the batch: every iovec before the one holding byte
            // `r` succeeded; that one failed. Find out why by issuing it alone.
            var done: UInt64 = 0
            var j = i
            while j < i + n, done + list[j].length <= UInt64(r) {
                done += list[j].length
                j += 1
            }
            result.advisedBytes += done
            guard j < i + n else { i += n; continue }
            var failure = callErrno
            let single = list.withUnsafeBufferPointer { ctiershims_process_madvise(descriptor, $0.baseAddress! + j, 1, value) }
            result.calls += 1
            if single >= 0 && UInt64(single) == list[j].length {
                result.advisedBytes += list[j].length
            } else {
                if single < 0 { failure = errno }
                if failure == ESRCH { throw SystemCallError(op, errno: ESRCH, detail: "the process exited") }
                result.failures.append(AdviseFailure(range: AddressRange(start: list[j].start, length: list[j].length), errno: failure))
            }
            i = j + 1
        }
        return result
    }

    /// Applies paging actions in order, one ``advise(_:_:)`` per run of equal advice.
    public func apply(_ actions: [PagingAction]) throws(SystemCallError) -> [PagingAdvice: AdviseResult] {
        var results: [PagingAdvice: AdviseResult] = [:]
        var k = 0
        while k < actions.count {
            let advice = actions[k].advice
            var ranges: [AddressRange] = []
            while k < actions.count, actions[k].advice == advice {
                ranges.append(AddressRange(start: actions[k].start, length: actions[k].length))
                k += 1
            }
            let r = try advise(ranges, advice)
            var sum = results[advice] ?? AdviseResult()
            sum.requestedBytes += r.requestedBytes
            sum.advisedBytes += r.advisedBytes
            sum.calls += r.calls
            sum.failures += r.failures
            results[advice] = sum
        }
        return results
    }

    static func madviseValue(_ advice: PagingAdvice) -> Int32 {
        switch advice {
        case .pageout: return ctiershims_madv_pageout()
        case .cold: return ctiershims_madv_cold()
        case .willneed: return ctiershims_madv_willneed()
        }
    }
}
