#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CTierIO
import TierHost

/// What an injected fault does to one transfer (tests use it to exercise the failure paths).
public enum IOFault: Sendable, Equatable {
    /// The transfer fails with this errno.
    case error(Int32)
    /// Only this many bytes are transferred.
    case short(Int)
}

/// One preallocated file of fixed-size slots, opened with O_DIRECT and read and written through
/// io_uring in batches at a chosen queue depth. The free-space map is a stack of free slots.
///
/// Buffers must be aligned to ``alignment`` and lengths multiples of it (O_DIRECT's rule).
public final class SwapFile {
    /// Alignment of buffers, offsets and lengths.
    public static let alignment = 4096

    public let path: String
    /// Bytes per slot (a multiple of ``alignment``).
    public let slotSize: Int
    /// Slots in the file.
    public let slotCount: Int
    /// Requests in flight at most.
    public let queueDepth: Int
    /// The file descriptor (O_DIRECT).
    public let fd: Int32
    /// Called for every transfer with its kind and slot; a non-nil answer replaces its outcome.
    public var faultHook: ((IORequest.Kind, Int32) -> IOFault?)?

    private let ring: IOURing
    private var asyncRing: IOURing?
    private var started: [UInt64: Transfer] = [:]
    private var freeSlots: [Int32]
    private var used: [Bool]

    /// Opens (creating if needed) `path`, preallocates `size` bytes with fallocate and divides it
    /// into slots of `slotSize` bytes (rounded up to ``alignment``).
    public init(path: String, size: Int64, slotSize: Int, queueDepth: Int = 32) throws(SystemCallError) {
        let slot = (slotSize + Self.alignment - 1) / Self.alignment * Self.alignment
        let count = Int(size / Int64(slot))
        guard count >= 1 else {
            throw SystemCallError("swap file \(path)", errno: 0,
                                  detail: "size \(size) holds no slot of \(slot) bytes; give at least \(slot)")
        }
        let fd = path.withCString { ctierio_open($0, 1) }
        guard fd >= 0 else {
            let detail = -fd == EINVAL ? "the file system does not support O_DIRECT (tmpfs?); put the swap file on a disk" : ""
            throw SystemCallError("open(O_DIRECT) \(path)", errno: -fd, detail: detail)
        }
        let rc = ctierio_fallocate(fd, Int64(count) * Int64(slot))
        guard rc == 0 else {
            close(fd)
            throw SystemCallError("fallocate \(path) \(Int64(count) * Int64(slot)) bytes", errno: -rc)
        }
        do {
            ring = try IOURing(entries: max(1, queueDepth), singleIssuer: true)
        } catch {
            close(fd)
            throw error
        }
        self.path = path
        self.fd = fd
        self.slotSize = slot
        self.slotCount = count
        self.queueDepth = max(1, queueDepth)
        freeSlots = Array((0..<Int32(count)).reversed())
        used = Array(repeating: false, count: count)
    }

    deinit { close(fd) }

    /// Slots not holding a block.
    public var freeSlotCount: Int { freeSlots.count }

    /// Takes a free slot, or nil when the file is full.
    public func allocateSlot() -> Int32? {
        guard let s = freeSlots.popLast() else { return nil }
        used[Int(s)] = true
        return s
    }

    /// Returns `slot` to the free-space map.
    public func freeSlot(_ slot: Int32) {
        precondition(used[Int(slot)], "slot \(slot) freed twice")
        used[Int(slot)] = false
        freeSlots.append(slot)
    }

    /// Byte offset of `slot` in the file.
    public func offset(of slot: Int32) -> Int64 { Int64(slot) * Int64(slotSize) }

    /// One slot transfer of a batch.
    public struct Transfer {
        public var kind: IORequest.Kind
        public var slot: Int32
        public var buffer: UnsafeMutableRawPointer
        /// Bytes to move (a multiple of ``SwapFile/alignment``, at most the slot size).
        public var length: Int

        public init(kind: IORequest.Kind, slot: Int32, buffer: UnsafeMutableRawPointer, length: Int) {
            self.kind = kind
            self.slot = slot
            self.buffer = buffer
            self.length = length
        }
    }

    /// Runs `transfers` at the queue depth; returns each one's bytes moved or negative errno
    /// (after the fault hook). A failure of the ring itself fails every transfer with its errno.
    public func run(_ transfers: [Transfer]) -> [Int32] {
        run(count: transfers.count) { i, _ in transfers[i] }
    }

    /// Runs `count` transfers at the queue depth, building transfer i with `transfer(i, lane)`
    /// when it is submitted; `lane` (below ``queueDepth``) is free of transfers in flight, so
    /// each lane can own a staging buffer. Returns each one's bytes moved or negative errno.
    public func run(count: Int, transfer: (Int, Int) -> Transfer) -> [Int32] {
        let hook = faultHook
        // What the fault hook needs of each transfer, recorded as it is built.
        var built = hook == nil ? [] : [(kind: IORequest.Kind, slot: Int32, length: Int)](repeating: (.read, 0, 0), count: count)
        var results: [Int32] = []
        do {
            try ring.run(count: count, depth: queueDepth, results: &results) { i, lane in
                let t = transfer(i, lane)
                if hook != nil { built[i] = (t.kind, t.slot, t.length) }
                return IORequest(kind: t.kind, fd: fd, buffer: t.buffer, length: t.length, offset: offset(of: t.slot))
            }
        } catch {
            return Array(repeating: -max(1, error.errno), count: count)
        }
        if let hook {
            for (i, t) in built.enumerated() {
                switch hook(t.kind, t.slot) {
                case .error(let e): results[i] = -e
                case .short(let n): results[i] = Int32(min(n, t.length))
                case nil: break
                }
            }
        }
        return results
    }

    /// Starts `transfer` without waiting (prefetch); its outcome arrives from ``finishStarted(_:)``
    /// with `tag`. False when it could not be queued.
    public func start(_ transfer: Transfer, tag: UInt64) -> Bool {
        if asyncRing == nil { asyncRing = try? IOURing(entries: queueDepth) }
        guard let ring = asyncRing, ring.inFlight + 1 <= queueDepth else { return false }
        let request = IORequest(kind: transfer.kind, fd: fd, buffer: transfer.buffer, length: transfer.length,
                                offset: offset(of: transfer.slot))
        guard ring.prepare(request, tag: tag), (try? ring.submit()) == 1 else { return false }
        started[tag] = transfer
        return true
    }

    /// Started transfers not yet finished.
    public var startedCount: Int { started.count }

    /// Waits for every started transfer; `body(tag, result)` gets bytes moved or negative errno.
    public func finishStarted(_ body: (UInt64, Int32) -> Void) {
        guard let ring = asyncRing else { return }
        var outcomes: [(UInt64, Int32)] = []
        do {
            try ring.reap(minimum: ring.inFlight) { tag, res in outcomes.append((tag, res)) }
        } catch {
            // The ring failed: the kernel may still write into the buffers, so it is abandoned.
            asyncRing = nil
            for tag in started.keys where !outcomes.contains(where: { $0.0 == tag }) { outcomes.append((tag, -max(1, error.errno))) }
        }
        for (tag, res) in outcomes {
            guard let t = started.removeValue(forKey: tag) else { continue }
            var r = res
            switch faultHook?(t.kind, t.slot) {
            case .error(let e)?: r = -e
            case .short(let n)?: r = Int32(min(n, t.length))
            case nil: break
            }
            body(tag, r)
        }
    }
}
