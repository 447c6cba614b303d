/// LRU stack distances in one pass, after Bennett and Kruskal (1975) and Olken (1981).
///
/// Every reference gets the next position on a timeline; a Fenwick tree holds each
/// object's weight (1, or its size) at the position of its latest reference only.
/// The weight of distinct objects referenced since an object's previous reference
/// is then the tree's sum over positions after it: O(log n) per reference.
///
/// Positions are renumbered densely (in order) whenever the timeline fills up, and
/// the timeline is kept at about twice the live object count, so memory is
/// O(objects), not O(requests), and renumbering costs O(1) amortised per reference.
public struct StackDistanceTracker {
    /// What ``access(_:weight:)`` learned about a reference.
    public struct Reference: Sendable, Equatable {
        /// The object's slot (stable until it is removed).
        public var slot: Int32
        /// False on the object's first reference (a cold miss at every size).
        public var isReuse: Bool
        /// Total weight of the distinct other objects referenced since the previous
        /// reference to this one (0 when `isReuse` is false).
        public var above: Int64
        /// The weight the object had at its previous reference.
        public var previousWeight: Int64

        @inlinable
        public init(slot: Int32, isReuse: Bool, above: Int64, previousWeight: Int64) {
            self.slot = slot
            self.isReuse = isReuse
            self.above = above
            self.previousWeight = previousWeight
        }
    }

    @usableFromInline let index: IdTable
    /// Per slot: position of the latest reference (-1 for a free slot), weight and id.
    @usableFromInline var slotPosition: [Int32] = []
    @usableFromInline var slotWeight: [Int64] = []
    @usableFromInline var slotId: [UInt64] = []
    @usableFromInline var freeSlots: [Int32] = []
    /// Per timeline position: the slot whose latest reference it is, or -1.
    @usableFromInline var owner: [Int32]
    @usableFromInline var tree: FenwickTree
    @usableFromInline var nextPosition = 0
    @usableFromInline var totalWeight: Int64 = 0
    @usableFromInline var live = 0
    @usableFromInline let minimumCapacity: Int
    /// How many times the timeline was renumbered.
    public private(set) var compactions = 0

    /// An empty stack; `expectedObjects` only presizes the tables.
    public init(expectedObjects: Int = 1 << 12) {
        minimumCapacity = Swift.max(1 << 10, 2 * expectedObjects)
        index = IdTable(expected: expectedObjects)
        owner = [Int32](repeating: -1, count: minimumCapacity)
        tree = FenwickTree(count: minimumCapacity)
    }

    /// Objects on the stack.
    public var objectCount: Int { live }
    /// Sum of the weights of the objects on the stack.
    public var totalWeightOnStack: Int64 { totalWeight }

    /// The id held in `slot`.
    public func id(ofSlot slot: Int32) -> UInt64 { slotId[Int(slot)] }

    /// Records a reference to `id` carrying `weight`, moving it to the top of the stack.
    @inlinable
    public mutating func access(_ id: UInt64, weight: Int64) -> Reference {
        var result: Reference
        let slot: Int32
        if let s = index.find(id) {
            slot = s
            let p = Int(slotPosition[Int(s)])
            let previous = slotWeight[Int(s)]
            // Positions after p hold exactly the objects referenced since p.
            let above = totalWeight &- tree.prefixSum(through: p)
            tree.add(p, -previous)
            owner[p] = -1
            totalWeight &-= previous
            result = Reference(slot: s, isReuse: true, above: above, previousWeight: previous)
        } else {
            slot = newSlot(id)
            index.set(id, slot)
            live += 1
            result = Reference(slot: slot, isReuse: false, above: 0, previousWeight: 0)
        }
        if nextPosition == owner.count { compact() }
        let position = nextPosition
        nextPosition += 1
        tree.add(position, weight)
        owner[position] = slot
        slotPosition[Int(slot)] = Int32(truncatingIfNeeded: position)
        slotWeight[Int(slot)] = weight
        totalWeight &+= weight
        result.slot = slot
        return result
    }

    /// Takes `slot`'s object off the stack, as if it had never been referenced.
    public mutating func remove(slot: Int32) {
        let s = Int(slot)
        let p = Int(slotPosition[s])
        precondition(p >= 0, "slot \(slot) is not in use")
        tree.add(p, -slotWeight[s])
        totalWeight &-= slotWeight[s]
        owner[p] = -1
        index.remove(slotId[s])
        slotPosition[s] = -1
        freeSlots.append(slot)
        live -= 1
    }

    @usableFromInline
    mutating func newSlot(_ id: UInt64) -> Int32 {
        if let s = freeSlots.popLast() {
            slotId[Int(s)] = id
            return s
        }
        precondition(slotId.count < Int(Int32.max), "more than 2^31 objects")
        slotPosition.append(-1)
        slotWeight.append(0)
        slotId.append(id)
        return Int32(slotId.count - 1)
    }

    /// Renumbers the live positions densely, in order, into a timeline about twice
    /// the live object count.
    @usableFromInline
    mutating func compact() {
        let capacity = Swift.max(minimumCapacity, 2 * live + 1024)
        precondition(capacity < Int(Int32.max), "stack too large")
        var newOwner = [Int32](repeating: -1, count: capacity)
        var weights = [Int64](repeating: 0, count: capacity)
        var k = 0
        for p in 0..<nextPosition {
            let s = owner[p]
            if s < 0 { continue }
            newOwner[k] = s
            weights[k] = slotWeight[Int(s)]
            slotPosition[Int(s)] = Int32(truncatingIfNeeded: k)
            k += 1
        }
        owner = newOwner
        tree = FenwickTree(weights: weights)
        nextPosition = k
        compactions += 1
    }
}
