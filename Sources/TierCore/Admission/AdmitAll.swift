/// Admits every miss (libCacheSim's default: no admissioner).
public struct AdmitAll: AdmissionPolicy {
    public static let name = "always"
    public init() {}
    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
    }
    @inlinable @inline(__always)
    public mutating func admit(_ request: Request) -> Bool { true }
}
