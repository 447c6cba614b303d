/// A binary max-heap of `UInt64` keys in one flat array. Callers pack a priority
/// in the high bits and a payload (such as a slot index) in the low bits.
public struct MaxHeapU64: Sendable {
    @usableFromInline var items: [UInt64] = []

    public init() {}

    public var count: Int { items.count }
    public var isEmpty: Bool { items.isEmpty }
    /// The largest key, or nil when empty.
    public var max: UInt64? { items.first }

    /// Adds a key.
    public mutating func push(_ key: UInt64) {
        items.append(key)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if items[parent] >= key { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = key
    }

    /// Removes and returns the largest key.
    @discardableResult
    public mutating func popMax() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        let n = items.count
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var c = l
            if l + 1 < n && items[l + 1] > items[l] { c = l + 1 }
            if items[c] <= last { break }
            items[i] = items[c]
            i = c
        }
        items[i] = last
        return top
    }
}
