/// Least hit density, as libCacheSim's `LHD/` (Beckmann et al., NSDI'18): evict the
/// sampled object with the lowest expected hits per byte per unit of remaining
/// lifetime, estimated per class of recent hit ages from decayed hit and eviction
/// histograms that are rebuilt every 2^20 accesses.
///
/// Everything libCacheSim's C++ does is kept: the object table with swap-remove
/// (samples are drawn by position), the libCacheSim random generator seeded 0 for
/// sampling and for choosing "explorer" objects, the recently-admitted candidates,
/// and all arithmetic in single precision in the same order, so the miss counts
/// match libCacheSim's exactly.
public struct LHD: EvictionPolicy {
    public static let name = "lhd"

    public static var parameterHelp: [(key: String, help: String)] {
        [("associativity", "objects sampled per eviction once the model has settled (default 32)"),
         ("admissions", "recently admitted objects always considered for eviction (default 8)")]
    }

    // libCacheSim's constants; the Float ones are C++ `float` constants written
    // as double literals, so they are converted from Double the same way.
    @usableFromInline static let explorerBudgetFraction = Float(0.01 as Double)
    @usableFromInline static let exploreInverseProbability: UInt64 = 32
    @usableFromInline static let hitAgeClasses = 16
    @usableFromInline static let ageCoarseningErrorTolerance = Float(0.01 as Double)
    @usableFromInline static let maxAge = 20_000
    @usableFromInline static let accessesPerReconfiguration: UInt64 = 1 << 20
    @usableFromInline static let ewmaDecay = Float(0.9 as Double)
    /// libCacheSim's only application id (1) selects this block of classes.
    @usableFromInline static let appClass = 1

    /// Per-object state (libCacheSim's `Tag`, plus the size libCacheSim keeps in `sizeMap`).
    @usableFromInline
    struct Tag {
        @usableFromInline var timestamp: UInt64 = 0
        @usableFromInline var lastHitAge: UInt64 = 0
        @usableFromInline var lastLastHitAge: UInt64 = 0
        @usableFromInline var id: UInt64
        @usableFromInline var bytes: Int64
        @usableFromInline var size: Float = 0
        @usableFromInline var explorer = false
        @inlinable init(id: UInt64, bytes: Int64) {
            self.id = id
            self.bytes = bytes
        }
    }

    public let capacity: Int64
    public let associativity: Int
    public let admissions: Int
    @usableFromInline let index = IdTable()
    @usableFromInline var tags: [Tag] = []
    /// Per class, per coarsened age: decayed hit and eviction counts and the hit density model.
    @usableFromInline var hits: [Float]
    @usableFromInline var evictions: [Float]
    @usableFromInline var hitDensities: [Float]
    @usableFromInline var recentlyAdmitted: [UInt64]
    @usableFromInline var recentlyAdmittedValid: [Bool]
    @usableFromInline var recentlyAdmittedHead = 0
    @usableFromInline var random = LibCacheSimRandom(seed: 0)
    @usableFromInline var timestamp: UInt64 = 0
    @usableFromInline var nextReconfiguration = LHD.accessesPerReconfiguration
    @usableFromInline var reconfigurations = 0
    @usableFromInline var ageCoarseningShift: UInt64 = 10
    @usableFromInline var ewmaNumObjects: Float = 0
    @usableFromInline var ewmaNumObjectsMass: Float = 0
    @usableFromInline var ewmaVictimHitDensity: Float = 0
    @usableFromInline var explorerBudget: Int64
    @usableFromInline var bytes: Int64 = 0

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        associativity = try parameters.int("associativity", default: 32, in: 1...4096)
        admissions = try parameters.int("admissions", default: 8, in: 1...4096)
        try parameters.finish(known: Self.parameterHelp.map(\.key))
        self.capacity = capacity
        explorerBudget = Int64(Float(UInt64(max(capacity, 0))) * Self.explorerBudgetFraction)
        recentlyAdmitted = Array(repeating: 0, count: admissions)
        recentlyAdmittedValid = Array(repeating: false, count: admissions)
        let n = Self.hitAgeClasses * Self.maxAge
        hits = Array(repeating: 0, count: n)
        evictions = Array(repeating: 0, count: n)
        hitDensities = Array(repeating: 0, count: n)
        // The initial model ranks like GDSF; libCacheSim seeds it from the global class number.
        for k in 0..<Self.hitAgeClasses {
            let c = Self.appClass * Self.hitAgeClasses + k
            for a in 0..<Self.maxAge {
                hitDensities[k * Self.maxAge + a] = Float(1.0 * Double(c + 1) / Double(a + 1))
            }
        }
    }

    public var occupied: Int64 { bytes }
    public var objectCount: Int { tags.count }
    public var label: String {
        associativity == 32 && admissions == 8 ? "lhd" : "lhd(associativity=\(associativity),admissions=\(admissions))"
    }

    // MARK: Policy interface

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        guard let i = index.find(request.id) else { return false }
        if tags[Int(i)].bytes != request.size {
            bytes += request.size - tags[Int(i)].bytes
            tags[Int(i)].bytes = request.size
        }
        update(Int(i), request)
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        tags.append(Tag(id: request.id, bytes: request.size))
        let i = tags.count - 1
        index.set(request.id, Int32(i))
        tags[i].lastLastHitAge = UInt64(Self.maxAge)
        tags[i].lastHitAge = 0
        update(i, request, inserted: true)
        bytes += request.size
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        let i = rank()
        let victim = Victim(id: tags[i].id, size: tags[i].bytes)
        bytes -= victim.size
        replaced(i)
        return victim
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.find(id) else { return false }
        bytes -= tags[Int(i)].bytes
        // libCacheSim's LHD_remove drops the tag without recording an eviction.
        detach(Int(i))
        return true
    }

    // MARK: The model

    @inlinable
    func hitAgeClass(_ age: UInt64) -> Int {
        if age == 0 { return Self.hitAgeClasses - 1 }
        var age = age, log = 0
        while age < UInt64(Self.maxAge) && log < Self.hitAgeClasses - 1 {
            age <<= 1
            log += 1
        }
        return log
    }

    /// Offset of the tag's class in the per-class arrays.
    @inlinable
    func classBase(_ tag: Tag) -> Int {
        hitAgeClass(tag.lastHitAge &+ tag.lastLastHitAge) * Self.maxAge
    }

    @inlinable
    func age(_ tag: Tag) -> Int {
        let age = (timestamp &- tag.timestamp) >> ageCoarseningShift
        return age >= UInt64(Self.maxAge) ? Self.maxAge - 1 : Int(age)
    }

    @inlinable
    func hitDensity(_ tag: Tag) -> Float {
        let age = age(tag)
        if age == Self.maxAge - 1 { return -Float.greatestFiniteMagnitude }
        var density = hitDensities[classBase(tag) + age] / tag.size
        if tag.explorer { density += 1 }
        return density
    }

    /// The tag index to evict: the lowest density among random samples and the recently admitted.
    @inlinable
    mutating func rank() -> Int {
        var victim = -1
        var victimRank = Float.greatestFiniteMagnitude
        let candidates = reconfigurations > 50 ? associativity : 8
        let n = UInt64(tags.count)
        for _ in 0..<candidates {
            let i = Int(random.next() % n)
            let r = hitDensity(tags[i])
            if r < victimRank {
                victim = i
                victimRank = r
            }
        }
        for k in 0..<admissions where recentlyAdmittedValid[k] {
            guard let i = index.find(recentlyAdmitted[k]) else { continue }
            let r = hitDensity(tags[Int(i)])
            if r < victimRank {
                victim = Int(i)
                victimRank = r
            }
        }
        let decay = Self.ewmaDecay
        ewmaVictimHitDensity = decay * ewmaVictimHitDensity + (1 - decay) * victimRank
        return victim
    }

    /// libCacheSim's `LHD::update`, for a hit or (with `inserted`) a new object.
    @inlinable
    mutating func update(_ i: Int, _ request: Request, inserted: Bool = false) {
        if !inserted {
            let tag = tags[i]
            let age = age(tag)
            hits[classBase(tag) + age] += 1
            if tag.explorer { explorerBudget = Int64(Float(explorerBudget) + tag.size) }
            tags[i].lastLastHitAge = tag.lastHitAge
            tags[i].lastHitAge = UInt64(age)
        }
        tags[i].timestamp = timestamp
        tags[i].size = Float(request.size)

        // A few objects are kept regardless of rank while the model is young.
        let explore = random.next() % Self.exploreInverseProbability == 0
        if explore && explorerBudget > 0 && reconfigurations < 50 {
            tags[i].explorer = true
            explorerBudget = Int64(Float(explorerBudget) - tags[i].size)
        } else {
            tags[i].explorer = false
        }

        // A newcomer that already looks evictable stays a candidate for a while.
        if inserted && !explore && hitDensity(tags[i]) < ewmaVictimHitDensity {
            let k = recentlyAdmittedHead % admissions
            recentlyAdmittedHead += 1
            recentlyAdmitted[k] = request.id
            recentlyAdmittedValid[k] = true
        }

        timestamp += 1
        nextReconfiguration -= 1
        if nextReconfiguration == 0 {
            reconfigure()
            nextReconfiguration = Self.accessesPerReconfiguration
            reconfigurations += 1
        }
    }

    /// libCacheSim's `LHD::replaced`: record the eviction and drop the tag.
    @inlinable
    mutating func replaced(_ i: Int) {
        let tag = tags[i]
        evictions[classBase(tag) + age(tag)] += 1
        if tag.explorer { explorerBudget = Int64(Float(explorerBudget) + tag.size) }
        detach(i)
    }

    /// Swap-removes tag `i` and forgets its id.
    @inlinable
    mutating func detach(_ i: Int) {
        index.remove(tags[i].id)
        let last = tags.removeLast()
        if i < tags.count {
            tags[i] = last
            index.set(last.id, Int32(i))
        }
    }

    @usableFromInline
    mutating func reconfigure() {
        let decay = Self.ewmaDecay
        for j in hits.indices {
            hits[j] *= decay
            evictions[j] *= decay
        }
        adaptAgeCoarsening()
        modelHitDensity()
    }

    @usableFromInline
    mutating func modelHitDensity() {
        let maxAge = Self.maxAge
        for k in 0..<Self.hitAgeClasses {
            let base = k * maxAge
            var totalEvents = hits[base + maxAge - 1] + evictions[base + maxAge - 1]
            var totalHits = hits[base + maxAge - 1]
            var lifetimeUnconditioned = totalEvents
            // Expected lifetime in one backward pass: later ages accumulate into the sum.
            for a in stride(from: maxAge - 2, through: 0, by: -1) {
                totalHits += hits[base + a]
                totalEvents += hits[base + a] + evictions[base + a]
                lifetimeUnconditioned += totalEvents
                hitDensities[base + a] = Double(totalEvents) > 1e-5 ? totalHits / lifetimeUnconditioned : 0
            }
        }
    }

    /// Chooses the age coarsening from the object count (at the 5th and 25th
    /// reconfiguration) and rescales the histograms to it.
    @usableFromInline
    mutating func adaptAgeCoarsening() {
        let decay = Self.ewmaDecay
        ewmaNumObjects *= decay
        ewmaNumObjectsMass *= decay
        ewmaNumObjects += Float(tags.count)
        ewmaNumObjectsMass += 1
        let numObjects = ewmaNumObjects / ewmaNumObjectsMass
        let optimal = Float(1.0 * Double(numObjects)
                            / Double(Self.ageCoarseningErrorTolerance * Float(Self.maxAge)))
        guard reconfigurations == 5 || reconfigurations == 25 else { return }

        var log2: UInt32 = 1
        while Float(Int32(truncatingIfNeeded: 1 << log2)) < optimal { log2 += 1 }
        let delta = Int32(truncatingIfNeeded: UInt64(log2) &- ageCoarseningShift)
        ageCoarseningShift = UInt64(log2)
        ewmaNumObjects *= 8
        ewmaNumObjectsMass *= 8

        let maxAge = Self.maxAge
        for k in 0..<Self.hitAgeClasses {
            let base = k * maxAge
            if delta < 0 {
                // Stretch.
                let s = Int(-delta)
                for a in (maxAge >> s)..<(maxAge - 1) {
                    hits[base + maxAge - 1] += hits[base + a]
                    evictions[base + maxAge - 1] += evictions[base + a]
                }
                let scale = Float(Int32(truncatingIfNeeded: 1 << s))
                for a in stride(from: maxAge - 2, through: 0, by: -1) {
                    hits[base + a] = hits[base + (a >> s)] / scale
                    evictions[base + a] = evictions[base + (a >> s)] / scale
                }
            } else if delta > 0 {
                // Compress.
                let s = Int(delta)
                for a in 0..<(maxAge >> s) {
                    hits[base + a] = hits[base + (a << s)]
                    evictions[base + a] = evictions[base + (a << s)]
                    for j in 1..<(1 << s) {
                        hits[base + a] += hits[base + (a << s) + j]
                        evictions[base + a] += evictions[base + (a << s) + j]
                    }
                }
                for a in (maxAge >> s)..<(maxAge - 1) {
                    hits[base + a] = 0
                    evictions[base + a] = 0
                }
            }
        }
    }
}
