/// An open-addressing hash map from 64-bit object ids to 32-bit slot indexes.
///
/// Linear probing with backward-shift deletion (no tombstones), a multiplicative
/// hash, and growth at 50% load. Key and value share one 16-byte entry so a lookup
/// touches one cache line. It is the replay hot path's only hash table: flat
/// memory, no allocation per request.
public final class IdTable {
    @usableFromInline struct Entry {
        @usableFromInline var key: UInt64
        @usableFromInline var value: Int32
        @usableFromInline init(key: UInt64, value: Int32) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var entries: UnsafeMutablePointer<Entry>
    @usableFromInline var mask: Int
    @usableFromInline var shift: UInt64
    /// Number of entries.
    public var count: Int { _count }
    @usableFromInline var _count: Int = 0

    /// Slot value meaning "empty".
    @usableFromInline static let empty: Int32 = -1

    /// Creates a table sized for about `expected` entries without growing.
    public init(expected: Int = 1024) {
        var capacity = 16
        while capacity < expected * 2 { capacity <<= 1 }
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(key: 0, value: Self.empty), count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
    }

    deinit {
        entries.deallocate()
    }

    @inlinable @inline(__always)
    func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The value for `key`, or nil.
    @inlinable @inline(__always)
    public func find(_ key: UInt64) -> Int32? {
        var i = home(key)
        while true {
            let e = entries[i]
            if e.value == Self.empty { return nil }
            if e.key == key { return e.value }
            i = (i &+ 1) & mask
        }
    }

    /// Inserts or replaces the value for `key`.
    @inlinable
    public func set(_ key: UInt64, _ value: Int32) {
        if (_count + 1) * 2 > mask + 1 { grow() }
        var i = home(key)
        while true {
            let e = entries[i]
            if e.value == Self.empty {
                entries[i] = Entry(key: key, value: value)
                _count += 1
                return
            }
            if e.key == key {
                entries[i].value = value
                return
            }
            i = (i &+ 1) & mask
        }
    }

    /// Removes `key` if present; returns its value.
    @inlinable @discardableResult
    public func remove(_ key: UInt64) -> Int32? {
        var i = home(key)
        while true {
            let e = entries[i]
            if e.value == Self.empty { return nil }
            if e.key == key { break }
            i = (i &+ 1) & mask
        }
        let removed = entries[i].value
        // Backward-shift: pull later members of the probe run into the hole.
        var hole = i
        var j = (i &+ 1) & mask
        while entries[j].value != Self.empty {
            let h = home(entries[j].key)
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                entries[hole] = entries[j]
                hole = j
            }
            j = (j &+ 1) & mask
        }
        entries[hole].value = Self.empty
        _count -= 1
        return removed
    }

    /// Removes every entry, keeping the capacity.
    public func removeAll() {
        entries.update(repeating: Entry(key: 0, value: Self.empty), count: mask + 1)
        _count = 0
    }

    /// Bytes held by the table.
    public var memoryBytes: Int { (mask + 1) * MemoryLayout<Entry>.stride }

    @usableFromInline
    func grow() {
        let old = entries, oldCapacity = mask + 1
        let capacity = oldCapacity * 2
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(key: 0, value: Self.empty), count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        _count = 0
        for i in 0..<oldCapacity where old[i].value != Self.empty {
            set(old[i].key, old[i].value)
        }
        old.deallocate()
    }
}
