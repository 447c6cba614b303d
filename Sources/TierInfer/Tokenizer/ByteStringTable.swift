/// An interning table of byte strings: every distinct string gets a dense id, in insertion order.
/// All strings live in one arena, so a 49k-token vocabulary costs three arrays, not 49k objects.
struct ByteStringTable: Sendable {
    private(set) var arena: [UInt8] = []
    /// `starts[id]..<starts[id + 1]` is string `id` in the arena.
    private(set) var starts: [Int32] = [0]
    /// Open addressing with linear probing; -1 marks an empty slot.
    private var slots: [Int32]
    private var mask: Int

    init(expectedCount: Int) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        starts.reserveCapacity(expectedCount + 1)
    }

    var count: Int { starts.count - 1 }

    /// The bytes of string `id`.
    func bytes(_ id: Int32) -> ArraySlice<UInt8> {
        arena[Int(starts[Int(id)])..<Int(starts[Int(id) + 1])]
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    private func equals(_ id: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let s = Int(starts[Int(id)]), e = Int(starts[Int(id) + 1])
        guard e - s == bytes.count else { return false }
        return arena.withUnsafeBufferPointer { a in
            for i in 0..<bytes.count where a[s + i] != bytes[i] { return false }
            return true
        }
    }

    /// The id of `bytes`, or nil.
    func find(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        var i = Self.hash(bytes) & mask
        while true {
            let id = slots[i]
            if id < 0 { return nil }
            if equals(id, bytes) { return id }
            i = (i + 1) & mask
        }
    }

    func find(_ bytes: [UInt8]) -> Int32? { bytes.withUnsafeBytes { find($0) } }

    /// Appends `bytes` as a new string and returns its id. When the string is already present,
    /// the lookup is pointed at the new id when `replace` (later vocabulary entries win, as in
    /// llama.cpp) and left alone otherwise.
    @discardableResult
    mutating func append(_ bytes: UnsafeRawBufferPointer, replace: Bool) -> Int32 {
        let id = Int32(count)
        arena.append(contentsOf: bytes)
        starts.append(Int32(arena.count))
        if count * 2 > slots.count { grow() }
        var i = Self.hash(bytes) & mask
        while slots[i] >= 0 {
            if equals(slots[i], bytes) {
                if replace { slots[i] = id }
                return id
            }
            i = (i + 1) & mask
        }
        slots[i] = id
        return id
    }

    /// The id of `bytes`, appending it first if it is new.
    mutating func intern(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        if let id = find(bytes) { return id }
        return append(bytes, replace: false)
    }

    mutating func intern(_ bytes: [UInt8]) -> Int32 { bytes.withUnsafeBytes { intern($0) } }

    private mutating func grow() {
        let capacity = slots.count * 2
        var newSlots = [Int32](repeating: -1, count: capacity)
        let newMask = capacity - 1
        for id in slots where id >= 0 {
            let s = Int(starts[Int(id)]), e = Int(starts[Int(id) + 1])
            var i = arena.withUnsafeBytes { Self.hash(UnsafeRawBufferPointer(rebasing: $0[s..<e])) } & newMask
            while newSlots[i] >= 0 { i = (i + 1) & newMask }
            newSlots[i] = id
        }
        slots = newSlots
        mask = newMask
    }
}

/// BPE merge ranks keyed by the pair of symbol ids: `(left, right) -> (rank, merged id)`.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var ranks: [Int32]
    private var results: [Int32]
    private let mask: Int
    private static let empty = UInt64.max

    init(expectedCount: Int) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: capacity)
        ranks = [Int32](repeating: 0, count: capacity)
        results = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private static func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20)
    }

    /// Adds a merge unless the pair is already present: the first (lowest) rank wins.
    mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let k = Self.key(left, right)
        var i = Self.slot(k) & mask
        while keys[i] != Self.empty {
            if keys[i] == k { return }
            i = (i + 1) & mask
        }
        keys[i] = k
        ranks[i] = rank
        results[i] = result
    }

    /// The rank and merged id of `(left, right)`, or nil when the pair never merges.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, result: Int32)? {
        let k = Self.key(left, right)
        var i = Self.slot(k) & mask
        while true {
            let stored = keys[i]
            if stored == k { return (ranks[i], results[i]) }
            if stored == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
