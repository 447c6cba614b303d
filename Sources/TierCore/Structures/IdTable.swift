/// An open-addressing hash map from 64-bit object ids to 32-bit slot indexes.
///
/// Linear probing with backward-shift deletion (no tombstones), a multiplicative
/// hash, and growth at 50% load. It is the replay hot path's only hash table, so
/// it stores plain integers in two flat buffers and never allocates per request.
public final class IdTable {
    @usableFromInline var keys: UnsafeMutablePointer<UInt64>
    @usableFromInline var values: UnsafeMutablePointer<Int32>
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
        keys = .allocate(capacity: capacity)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: Self.empty, count: capacity)
        keys.initialize(repeating: 0, count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
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
            let v = values[i]
            if v == Self.empty { return nil }
            if keys[i] == key { return v }
            i = (i &+ 1) & mask
        }
    }

    /// Inserts or replaces the value for `key`.
    @inlinable
    public func set(_ key: UInt64, _ value: Int32) {
        if (_count + 1) * 2 > mask + 1 { grow() }
        var i = home(key)
        while true {
            let v = values[i]
            if v == Self.empty {
                keys[i] = key
                values[i] = value
                _count += 1
                return
            }
            if keys[i] == key {
                values[i] = value
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
            let v = values[i]
            if v == Self.empty { return nil }
            if keys[i] == key { break }
            i = (i &+ 1) & mask
        }
        let removed = values[i]
        // Backward-shift: pull later members of the probe run into the hole.
        var hole = i
        var j = (i &+ 1) & mask
        while values[j] != Self.empty {
            let h = home(keys[j])
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j &+ 1) & mask
        }
        values[hole] = Self.empty
        _count -= 1
        return removed
    }

    /// Removes every entry, keeping the capacity.
    public func removeAll() {
        values.update(repeating: Self.empty, count: mask + 1)
        _count = 0
    }

    /// Bytes held by the table's buffers.
    public var memoryBytes: Int { (mask + 1) * (MemoryLayout<UInt64>.size + MemoryLayout<Int32>.size) }

    @usableFromInline
    func grow() {
        let oldKeys = keys, oldValues = values, oldCapacity = mask + 1
        let capacity = oldCapacity * 2
        keys = .allocate(capacity: capacity)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: Self.empty, count: capacity)
        keys.initialize(repeating: 0, count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        _count = 0
        for i in 0..<oldCapacity where oldValues[i] != Self.empty {
            set(oldKeys[i], oldValues[i])
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}
