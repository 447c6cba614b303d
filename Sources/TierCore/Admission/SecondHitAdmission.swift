/// Admits an object on its second miss and later ones (libCacheSim's
/// `bloomfilter` admissioner, which despite its name keeps an exact table of
/// every object id it was asked about). Only misses reach an admission policy,
/// so one-hit wonders never enter the cache.
public struct SecondHitAdmission: AdmissionPolicy {
    public static let name = "secondhit"

    /// Ids seen so far (libCacheSim also counts them, but only presence matters).
    @usableFromInline let seen: IdTable

    public init() {
        seen = IdTable(expected: 1 << 14)
    }

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.init()
    }

    /// Number of distinct objects seen.
    public var distinctObjects: Int { seen.count }

    @inlinable
    public mutating func admit(_ request: Request) -> Bool {
        if seen.find(request.id) != nil { return true }
        seen.set(request.id, 1)
        return false
    }
}
