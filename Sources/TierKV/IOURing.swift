#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CLibURing
import TierHost

/// One read or write of the SSD tier: `length` bytes between `buffer` and `offset` of `fd`.
public struct IORequest {
    public enum Kind: Sendable { case read, write }
    public var kind: Kind
    public var fd: Int32
    public var buffer: UnsafeMutableRawPointer
    public var length: Int
    public var offset: Int64

    public init(kind: Kind, fd: Int32, buffer: UnsafeMutableRawPointer, length: Int, offset: Int64) {
        self.kind = kind
        self.fd = fd
        self.buffer = buffer
        self.length = length
        self.offset = offset
    }
}

/// An io_uring instance (liburing) with one owner: requests are queued, submitted in batches, and
/// completions reaped by the same thread.
public final class IOURing {
    private let ring: UnsafeMutablePointer<io_uring>
    /// Submission queue entries.
    public let entries: Int
    /// Submitted requests not yet reaped.
    public private(set) var inFlight = 0

    /// A ring of `entries` submission entries (a power of two is not required; the kernel rounds).
    public init(entries: Int) throws(SystemCallError) {
        ring = .allocate(capacity: 1)
        let rc = io_uring_queue_init(UInt32(max(1, entries)), ring, 0)
        guard rc == 0 else {
            ring.deallocate()
            throw SystemCallError("io_uring_queue_init(\(entries))", errno: -rc)
        }
        self.entries = max(1, entries)
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
    }

    /// Queues `request` with `tag`; false when the submission queue is full (submit first).
    public func prepare(_ request: IORequest, tag: UInt64) -> Bool {
        guard let sqe = io_uring_get_sqe(ring) else { return false }
        switch request.kind {
        case .read: io_uring_prep_read(sqe, request.fd, request.buffer, UInt32(request.length), UInt64(request.offset))
        case .write: io_uring_prep_write(sqe, request.fd, request.buffer, UInt32(request.length), UInt64(request.offset))
        }
        io_uring_sqe_set_data64(sqe, tag)
        return true
    }

    /// Submits every queued request; returns how many the kernel took.
    @discardableResult
    public func submit() throws(SystemCallError) -> Int {
        var rc: Int32
        repeat { rc = io_uring_submit(ring) } while rc == -EINTR
        guard rc >= 0 else { throw SystemCallError("io_uring_submit", errno: -rc) }
        inFlight += Int(rc)
        return Int(rc)
    }

    /// Submits every queued request and waits for at least one completion in the same
    /// `io_uring_enter`; returns how many the kernel took.
    @discardableResult
    public func submitAndWaitOne() throws(SystemCallError) -> Int {
        var rc: Int32
        repeat { rc = io_uring_submit_and_wait(ring, 1) } while rc == -EINTR
        guard rc >= 0 else { throw SystemCallError("io_uring_submit_and_wait", errno: -rc) }
        inFlight += Int(rc)
        return Int(rc)
    }

    /// Reaps completions: waits for at least `minimum` (0 only takes what is ready), calling
    /// `body(tag, result)` for each; the result is bytes transferred or a negative errno.
    @discardableResult
    public func reap(minimum: Int, _ body: (UInt64, Int32) -> Void) throws(SystemCallError) -> Int {
        var reaped = 0
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        while inFlight > 0 {
            let rc: Int32
            if reaped < minimum {
                rc = io_uring_wait_cqe(ring, &cqe)
                if rc == -EINTR { continue }
            } else {
                rc = io_uring_peek_cqe(ring, &cqe)
                if rc == -EAGAIN { break }
            }
            guard rc == 0, let c = cqe else { throw SystemCallError("io_uring_wait_cqe", errno: -rc) }
            let tag = c.pointee.user_data
            let res = c.pointee.res
            io_uring_cqe_seen(ring, c)
            inFlight -= 1
            reaped += 1
            body(tag, res)
        }
        return reaped
    }

    /// Runs `requests` keeping at most `depth` in flight; `results[i]` receives request i's
    /// bytes transferred or negative errno.
    public func run(_ requests: [IORequest], depth: Int, results: inout [Int32]) throws(SystemCallError) {
        try run(count: requests.count, depth: depth, results: &results) { i, _ in requests[i] }
    }

    /// Runs `count` requests keeping at most `depth` in flight, building request i with
    /// `request(i, lane)` when it is submitted. `lane` (below `depth`) is not used by any request
    /// still in flight, so a caller can give each lane its own buffer, as fio gives each of its
    /// in-flight units one. `results[i]` receives request i's bytes transferred or negative
    /// errno. Each refill submits and waits in one system call, and every completion already
    /// posted is reaped before the next refill.
    public func run(count: Int, depth: Int, results: inout [Int32], request: (Int, Int) -> IORequest) throws(SystemCallError) {
        let out = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, count))
        defer { out.deallocate() }
        let depth = max(1, min(depth, entries))
        var freeLanes = Array((0..<depth).reversed())
        var next = 0
        var done = 0
        while done < count {
            var queued = 0
            while next < count, let lane = freeLanes.last, prepare(request(next, lane), tag: UInt64(next) << 20 | UInt64(lane)) {
                freeLanes.removeLast()
                next += 1
                queued += 1
            }
            if queued > 0 { try submitAndWaitOne() }
            done += try reap(minimum: 1) { tag, res in
                out[Int(tag >> 20)] = res
                freeLanes.append(Int(tag & 0xFFFFF))
            }
        }
        results = Array(UnsafeBufferPointer(start: out, count: count))
    }
}
