#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CLibURing
import CTierIO
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
    /// Whether the kernel ties the ring to one issuing thread (see ``init(entries:singleIssuer:)``).
    public private(set) var singleIssuer: Bool
    /// The thread the single-issuer ring is bound to; 0 until the first ``run``.
    private var issuer: pid_t = 0
    /// False between tearing the ring down and setting it up again (if that failed).
    private var live = false

    /// A ring of `entries` submission entries (a power of two is not required; the kernel rounds).
    ///
    /// With `singleIssuer`, the ring is set up as fio sets up its own: one issuing thread
    /// (`IORING_SETUP_SINGLE_ISSUER`), completions processed when that thread waits for them
    /// (`DEFER_TASKRUN`) rather than by interrupting it. Such a ring is driven only through
    /// ``run(count:depth:results:request:)``, which binds it to the calling thread and sets it
    /// up again, idle, when a call comes from another thread. Kernels without these flags get a
    /// plain ring.
    public init(entries: Int, singleIssuer: Bool = false) throws(SystemCallError) {
        ring = .allocate(capacity: 1)
        self.entries = max(1, entries)
        self.singleIssuer = singleIssuer
        do throws(SystemCallError) {
            try setUp()
        } catch {
            ring.deallocate()
            throw error
        }
    }

    private func setUp() throws(SystemCallError) {
        var params = io_uring_params()
        if singleIssuer {
            // Disabled until run() enables it on the thread that issues.
            params.flags = UInt32(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN
                                  | IORING_SETUP_R_DISABLED)
        }
        var rc = io_uring_queue_init_params(UInt32(entries), ring, &params)
        if rc == -EINVAL && singleIssuer {
            singleIssuer = false
            params = io_uring_params()
            rc = io_uring_queue_init_params(UInt32(entries), ring, &params)
        }
        guard rc == 0 else { throw SystemCallError("io_uring_queue_init(\(entries))", errno: -rc) }
        issuer = 0
        live = true
    }

    /// Binds a single-issuer ring to the calling thread, setting it up again if it was bound to
    /// another one (it must be idle then).
    private func claim() throws(SystemCallError) {
        guard singleIssuer else { return }
        let me = pid_t(ctierio_thread_id())
        if issuer == me && live { return }
        if issuer != 0 || !live {
            guard inFlight == 0 else { throw SystemCallError("io_uring run from a second thread while busy", errno: EBUSY) }
            if live {
                live = false
                io_uring_queue_exit(ring)
            }
            try setUp()
            guard singleIssuer else { return }
        }
        let rc = ctierio_io_uring_enable(ring.pointee.ring_fd)
        guard rc == 0 else { throw SystemCallError("io_uring_register(IORING_REGISTER_ENABLE_RINGS)", errno: -rc) }
        issuer = me
    }

    deinit {
        if live { io_uring_queue_exit(ring) }
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
        try claim()
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
