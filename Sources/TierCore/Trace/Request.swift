/// One cache request, as libCacheSim's `request_t` carries it.
///
/// `nextAccess` is the 1-based index of the next request to the same object
/// (the oracleGeneral convention), or ``Request/never`` when there is none
/// or the trace does not say.
public struct Request: Sendable, Equatable {
    /// Trace timestamp (the trace's own unit, usually seconds).
    public var time: UInt64
    /// Object identifier.
    public var id: UInt64
    /// Object size in bytes (1 in object mode).
    public var size: Int64
    /// Index of the next request to this object, or ``Request/never``.
    public var nextAccess: Int64

    /// "Never requested again" (libCacheSim maps -1 to a huge distance too).
    public static let never: Int64 = .max

    @inlinable
    public init(time: UInt64 = 0, id: UInt64, size: Int64 = 1, nextAccess: Int64 = Request.never) {
        self.time = time
        self.id = id
        self.size = size
        self.nextAccess = nextAccess
    }
}

/// A stream of requests. Readers are single-pass and allocate nothing per request.
public protocol RequestSource {
    /// The next request, or nil at the end. Throws a located ``TraceError`` on bad input.
    mutating func next() throws(TraceError) -> Request?
    /// Whether requests carry next-access indexes (Belady needs them).
    var hasNextAccess: Bool { get }
    /// Records dropped so far (zero-size requests, as libCacheSim skips them).
    /// Next-access indexes stored in a trace count those records, so a writer
    /// recomputes them when any were dropped.
    var skippedRequests: Int64 { get }
}

extension RequestSource {
    public var skippedRequests: Int64 { 0 }
}
