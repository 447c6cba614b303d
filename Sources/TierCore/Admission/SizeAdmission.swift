/// Admits misses of objects smaller than a threshold (libCacheSim's `size`
/// admissioner). The comparison is strict, as in libCacheSim: an object of
/// exactly `size` bytes is rejected.
public struct SizeAdmission: AdmissionPolicy {
    public static let name = "size"

    /// Objects must be strictly smaller than this (bytes, or 1 per object in object mode).
    public let threshold: Int64

    public init(threshold: Int64 = .max) {
        self.threshold = threshold
    }

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        let alias = try parameters.bytes("max", default: .max)
        let threshold = try parameters.bytes("size", default: alias)
        try parameters.finish(known: ["size", "max"])
        self.init(threshold: Int64(threshold))
    }

    public var label: String { "\(Self.name)(size=\(threshold))" }

    @inlinable @inline(__always)
    public mutating func admit(_ request: Request) -> Bool {
        request.size < threshold
    }
}
