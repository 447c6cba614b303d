/// Requests held in memory, as a ``RequestSource``: for tests, small generated
/// workloads and the KV tier's block references.
public struct ArraySource: RequestSource {
    public let requests: [Request]
    private var position = 0
    public let hasNextAccess: Bool

    public init(_ requests: [Request], hasNextAccess: Bool = false) {
        self.requests = requests
        self.hasNextAccess = hasNextAccess
    }

    /// Requests for `ids`, each of `size`, numbered in time order.
    public init(ids: [UInt64], size: Int64 = 1) {
        self.init(ids.enumerated().map { Request(time: UInt64($0.offset), id: $0.element, size: size) })
    }

    public mutating func next() throws(TraceError) -> Request? {
        while position < requests.count {
            let r = requests[position]
            position += 1
            // Zero-size requests are skipped, as libCacheSim's readers do.
            if r.size != 0 { return r }
        }
        return nil
    }
}
