import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One policy at one size: a cell of the replay table.
public struct ReplayJob: Sendable {
    public var policy: PolicyDescriptor
    public var parameters: PolicyParameters
    public var capacity: Int64
    public var admission: AdmissionSpec

    public init(policy: PolicyDescriptor, parameters: PolicyParameters, capacity: Int64, admission: AdmissionSpec = .always) {
        self.policy = policy
        self.parameters = parameters
        self.capacity = capacity
        self.admission = admission
    }
}

/// The outcome of one ``ReplayJob``, with the fields `tierkit replay` reports.
public struct ReplayRow: Sendable, Codable {
    public var policy: String
    public var admission: String
    public var cacheSize: Int64
    public var mode: String
    public var requests: Int64
    public var misses: Int64
    public var missRatio: Double
    public var bytes: Int64
    public var missBytes: Int64
    public var byteMissRatio: Double
    public var seconds: Double
    public var requestsPerSecond: Double
    /// The process's peak resident set when this run ended (runs share a process).
    public var peakMemoryBytes: Int64

    enum CodingKeys: String, CodingKey {
        case policy, admission, mode, requests, misses, bytes, seconds
        case cacheSize = "cache_size"
        case missRatio = "miss_ratio"
        case missBytes = "miss_bytes"
        case byteMissRatio = "byte_miss_ratio"
        case requestsPerSecond = "requests_per_second"
        case peakMemoryBytes = "peak_memory_bytes"
    }
}

/// Monotonic seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Peak resident set size of this process, in bytes.
public func peakResidentBytes() -> Int64 {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if canImport(Darwin)
    return Int64(usage.ru_maxrss)
    #else
    return Int64(usage.ru_maxrss) * 1024
    #endif
}

/// Runs replay jobs on `workers` threads, each job streaming the trace on its own.
public struct ReplayRunner: Sendable {
    public var trace: TraceSpec
    public var workers: Int

    public init(trace: TraceSpec, workers: Int) {
        self.trace = trace
        self.workers = max(1, workers)
    }

    /// Runs one job on the calling thread.
    public func run(_ job: ReplayJob, progress: @escaping (Int64) -> Void = { _ in }) throws -> ReplayRow {
        var setup = ReplaySetup(trace: trace, capacity: job.capacity, parameters: job.parameters,
                                admission: job.admission, progress: progress)
        let start = monotonicSeconds()
        let outcome = try job.policy.run(&setup)
        let seconds = monotonicSeconds() - start
        let c = outcome.counts
        return ReplayRow(policy: outcome.label, admission: outcome.admissionLabel, cacheSize: job.capacity,
                         mode: trace.objectMode ? "objects" : "bytes",
                         requests: c.requests, misses: c.misses, missRatio: c.missRatio,
                         bytes: c.bytes, missBytes: c.missBytes, byteMissRatio: c.byteMissRatio,
                         seconds: seconds, requestsPerSecond: seconds > 0 ? Double(c.requests) / seconds : 0,
                         peakMemoryBytes: peakResidentBytes())
    }

    /// Runs every job, in parallel, and returns rows in job order. `progress`
    /// receives the total requests replayed so far across all jobs (from any thread).
    public func runAll(_ jobs: [ReplayJob], progress: @escaping @Sendable (Int64) -> Void = { _ in }) throws -> [ReplayRow] {
        let state = SharedState(count: jobs.count)
        let trace = self.trace
        DispatchQueue.concurrentPerform(iterations: min(workers, jobs.count)) { _ in
            while let index = state.claim() {
                var last: Int64 = 0
                do {
                    let row = try ReplayRunner(trace: trace, workers: 1).run(jobs[index]) { done in
                        progress(state.add(done - last))
                        last = done
                    }
                    state.finish(index, .success(row))
                } catch {
                    state.finish(index, .failure(error))
                }
            }
        }
        return try state.rows()
    }

    /// Job queue and results shared by the worker threads.
    private final class SharedState: @unchecked Sendable {
        private var lock = pthread_mutex_t()
        private var next = 0
        private let count: Int
        private var results: [Result<ReplayRow, any Error>?]
        private var done: Int64 = 0

        init(count: Int) {
            self.count = count
            self.results = Array(repeating: nil, count: count)
            pthread_mutex_init(&lock, nil)
        }
        deinit { pthread_mutex_destroy(&lock) }

        func claim() -> Int? {
            pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
            // After a failure the remaining jobs are skipped.
            if results.contains(where: { if case .failure = $0 { return true } else { return false } }) { return nil }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }

        func add(_ n: Int64) -> Int64 {
            pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
            done += n
            return done
        }

        func finish(_ index: Int, _ result: Result<ReplayRow, any Error>) {
            pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
            results[index] = result
        }

        func rows() throws -> [ReplayRow] {
            var rows: [ReplayRow] = []
            for r in results {
                switch r {
                case .success(let row): rows.append(row)
                case .failure(let e): throw e
                case nil: continue
                }
            }
            return rows
        }
    }
}
