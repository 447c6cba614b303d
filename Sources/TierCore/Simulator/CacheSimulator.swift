/// Counts of one replay.
public struct ReplayCounts: Sendable, Equatable, Codable {
    public var requests: Int64 = 0
    public var misses: Int64 = 0
    public var bytes: Int64 = 0
    public var missBytes: Int64 = 0
    public init() {}

    public var missRatio: Double { requests == 0 ? 0 : Double(misses) / Double(requests) }
    public var byteMissRatio: Double { bytes == 0 ? 0 : Double(missBytes) / Double(bytes) }
}

/// Replays `source` through `policy` with `admission`, as libCacheSim's simulator
/// does: every request counts, a miss counts its bytes. Generic all the way down,
/// so each (source, policy, admission) triple is compiled into its own loop.
///
/// `progress` is called with the number of requests done every 2^16 requests.
@inlinable
public func replay<S: RequestSource, P: EvictionPolicy, A: AdmissionPolicy>(
    _ source: inout S, policy: inout P, admission: inout A,
    progress: (Int64) -> Void = { _ in }
) throws(TraceError) -> ReplayCounts {
    var counts = ReplayCounts()
    while let request = try source.next() {
        counts.requests &+= 1
        counts.bytes &+= request.size
        if !policy.access(request, admission: &admission, onEvict: { _ in }) {
            counts.misses &+= 1
            counts.missBytes &+= request.size
        }
        if counts.requests & 0xFFFF == 0 { progress(counts.requests) }
    }
    return counts
}
