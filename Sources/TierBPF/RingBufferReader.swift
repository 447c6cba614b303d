import CLibBPF
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Fixed-size records read from a BPF ring buffer, in arrival order, stored contiguously:
/// one allocation per batch, none per record.
public struct RecordBatch<Record: BitwiseCopyable>: RandomAccessCollection, Sendable {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    public var startIndex: Int { 0 }
    public var endIndex: Int { bytes.count / MemoryLayout<Record>.size }

    public subscript(position: Int) -> Record {
        precondition(position >= 0 && position < endIndex, "record index out of range")
        return bytes.withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: position * MemoryLayout<Record>.size, as: Record.self)
        }
    }
}

/// Reads a `BPF_MAP_TYPE_RINGBUF` map on a dedicated thread (`ring_buffer__poll` blocks) and
/// delivers what it reads as an `AsyncStream` of batches.
///
/// Records must all be `MemoryLayout<Record>.size` bytes; others are counted in
/// `malformedRecords` and skipped. `stop()` (or `deinit`) drains what the kernel has already
/// committed, finishes the stream and joins the thread.
public final class RingBufferReader<Record: BitwiseCopyable> {
    /// Batches as the poll thread reads them; finishes after `stop()`.
    public let batches: AsyncStream<RecordBatch<Record>>
    private let poller: RingBufferPoller
    private var thread: pthread_t?

    /// Starts reading `map`, which must belong to a loaded object. `pollTimeout` bounds how
    /// long `stop()` waits for the thread; `batchLimit` bounds a batch's record count.
    public init(map: BPFMap, pollTimeoutMilliseconds: Int32 = 50, batchLimit: Int = 8192) throws(BPFError) {
        let (stream, continuation) = AsyncStream<RecordBatch<Record>>.makeStream(bufferingPolicy: .unbounded)
        batches = stream
        poller = RingBufferPoller(
            recordSize: MemoryLayout<Record>.size, batchLimit: batchLimit,
            timeout: pollTimeoutMilliseconds,
            deliver: { continuation.yield(RecordBatch(bytes: $0)) },
            finish: { continuation.finish() })
        let context = Unmanaged.passUnretained(poller).toOpaque()
        guard let ring = ring_buffer__new(map.fileDescriptor, ringBufferSample, context, nil) else {
            continuation.finish()
            throw BPFError("open ring buffer \(map.name)", errno: clibbpf_errno())
        }
        poller.ring = ring
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, ringBufferThread, Unmanaged.passRetained(poller).toOpaque())
        guard started == 0 else {
            ring_buffer__free(ring)
            continuation.finish()
            throw BPFError("start ring buffer thread", errno: started)
        }
        self.thread = thread
    }

    /// Records whose size was not `MemoryLayout<Record>.size`.
    public var malformedRecords: Int { poller.malformed.load(ordering: .relaxed) }
    /// Records delivered so far.
    public var deliveredRecords: Int { poller.delivered.load(ordering: .relaxed) }
    /// The error that ended polling early, if any.
    public var pollError: BPFError? {
        let code = poller.pollErrno.load(ordering: .acquiring)
        return code == 0 ? nil : BPFError("poll ring buffer", errno: code)
    }

    /// Reads what the kernel has committed, finishes `batches`, and joins the thread.
    public func stop() {
        guard let thread else { return }
        poller.stopRequested.store(true, ordering: .releasing)
        pthread_join(thread, nil)
        self.thread = nil
    }

    deinit { stop() }
}

/// State shared between the owner and the poll thread. The ring and the batch are touched only
/// by the poll thread once it runs; the counters and the stop flag are atomics.
final class RingBufferPoller: @unchecked Sendable {
    let recordSize: Int
    let batchLimit: Int
    let timeout: Int32
    let deliver: @Sendable ([UInt8]) -> Void
    let finish: @Sendable () -> Void
    var ring: OpaquePointer?
    var batch: [UInt8] = []
    let stopRequested = Atomic<Bool>(false)
    let malformed = Atomic<Int>(0)
    let delivered = Atomic<Int>(0)
    let pollErrno = Atomic<Int32>(0)

    init(recordSize: Int, batchLimit: Int, timeout: Int32,
         deliver: @escaping @Sendable ([UInt8]) -> Void, finish: @escaping @Sendable () -> Void) {
        self.recordSize = recordSize
        self.batchLimit = batchLimit
        self.timeout = timeout
        self.deliver = deliver
        self.finish = finish
        batch.reserveCapacity(recordSize * batchLimit)
    }

    func append(_ data: UnsafeRawPointer, _ size: Int) {
        guard size == recordSize else {
            malformed.add(1, ordering: .relaxed)
            return
        }
        batch.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
        if batch.count >= recordSize * batchLimit { flush() }
    }

    func flush() {
        guard !batch.isEmpty else { return }
        let full = batch
        batch = []
        batch.reserveCapacity(recordSize * batchLimit)
        delivered.add(full.count / recordSize, ordering: .relaxed)
        deliver(full)
    }

    func run() {
        guard let ring else { return }
        while !stopRequested.load(ordering: .acquiring) {
            let result = ring_buffer__poll(ring, timeout)
            if result < 0 && result != -EINTR {
                pollErrno.store(-result, ordering: .releasing)
                break
            }
            flush()
        }
        // What the kernel committed before stop() was called is still delivered.
        _ = ring_buffer__consume(ring)
        flush()
        ring_buffer__free(ring)
        self.ring = nil
        finish()
    }
}

private func ringBufferSample(_ context: UnsafeMutableRawPointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let context, let data else { return 0 }
    Unmanaged<RingBufferPoller>.fromOpaque(context).takeUnretainedValue().append(data, size)
    return 0
}

private func ringBufferThread(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let argument else { return nil }
    let poller = Unmanaged<RingBufferPoller>.fromOpaque(argument).takeRetainedValue()
    poller.run()
    return nil
}
