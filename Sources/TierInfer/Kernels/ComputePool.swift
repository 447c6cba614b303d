#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Synchronization

/// A small persistent pool of compute threads for fork-join kernels.
///
/// The calling thread takes part as worker 0, so a pool of `threadCount` threads starts
/// `threadCount - 1` helpers. Helpers spin briefly between jobs (a forward pass issues a few
/// hundred short jobs per token, too short for a kernel wake-up each) and then sleep on a
/// condition variable, so an idle pool costs no CPU.
public final class ComputePool: @unchecked Sendable {
    /// Number of threads a job runs on, the caller included.
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [pthread_t] = []
    // Written by the caller before the generation bump and read by helpers after observing it.
    private var job: ((Int) -> Void)?

    /// Polls before a waiting thread starts yielding the CPU (another thread of the job may
    /// need it when the machine is oversubscribed), and before a helper sleeps.
    private static let yieldAfter = 4_000
    private static let spinLimit = 20_000

    /// Creates a pool running jobs on `threadCount` threads (at least 1).
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        for index in 1..<self.threadCount {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(index: context.index)
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    /// The number of online processors, for a default pool size.
    public static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Runs `body(worker)` once on each of the `threadCount` workers and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            pending.store(threadCount - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(cond)
                pthread_mutex_unlock(mutex)
            }
            escaping(0)
            var spins = 0
            while pending.load(ordering: .acquiring) != 0 {
                spins += 1
                if spins > Self.yieldAfter { sched_yield() }
            }
            job = nil
        }
    }

    /// Splits `0..<count` into `threadCount` contiguous ranges whose bounds are multiples of
    /// `granularity` (except the end), and returns worker `worker`'s range.
    @inline(__always)
    public func range(of worker: Int, count: Int, granularity: Int = 1) -> Range<Int> {
        let units = (count + granularity - 1) / granularity
        let lower = min(count, units * worker / threadCount * granularity)
        let upper = min(count, units * (worker + 1) / threadCount * granularity)
        return lower..<upper
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins > Self.yieldAfter { sched_yield() }
                if spins >= Self.spinLimit {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(cond, mutex)
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            job!(index)
            pending.subtract(1, ordering: .releasing)
        }
    }
}

// Unowned: the pool joins its threads in deinit, so it outlives every worker.
private final class WorkerContext {
    unowned(unsafe) let pool: ComputePool
    let index: Int
    init(pool: ComputePool, index: Int) {
        self.pool = pool
        self.index = index
    }
}
