import Testing
import TierCore

/// Checks against values printed by small C programs built on libCacheSim aa0fc40's own
/// hash.h, mymath.h, pqueue.c and chainedHashTableV2.c.
@Suite("libCacheSim-exact structures")
struct SamplingStructuresTests {
    @Test("XXH3 matches libCacheSim's get_hash_value_int_64")
    func xxh3() {
        #expect(XXH3.hash(0) == 0xc77b_3abb_6f87_acd9)
        #expect(XXH3.hash(1) == 0x2fbc_5935_64db_792e)
        #expect(XXH3.hash(42) == 0xd5a6_f8c8_38df_27c8)
        #expect(XXH3.hash(123_456_789) == 0x2719_6ab4_438f_6ad5)
        #expect(XXH3.hash(.max) == 0x5111_c7e4_7d78_4413)
        #expect(XXH3.hash(0x0123_4567_89ab_cdef) == 0xb78d_f414_2842_77a6)
    }

    @Test("next_rand from seed 0")
    func random() {
        var r = LibCacheSimRandom(seed: 0)
        #expect(r.next() == 0x1405_7b7e_f767_814f)
        #expect(r.next() == 0x1a08_ee11_84ba_6d32)
        #expect(r.next() == 0x9af6_7822_2e72_8119)
    }

    @Test("the heap pops ties in pqueue's order")
    func heapTies() {
        let heap = IndexedMaxHeap(capacity: 4)
        let keys: [Double] = [5, 5, 3, 5, 9, 1, 5, 5, 2, 5]
        for (i, k) in keys.enumerated() { heap.insert(Int32(i), key: k) }
        heap.update(3, key: 9)
        heap.update(4, key: 5)
        var order: [Int32] = []
        for _ in 0..<3 { order.append(heap.pop()!) }
        heap.remove(6)
        while let h = heap.pop() { order.append(h) }
        #expect(order == [3, 9, 4, 0, 7, 1, 2, 8, 5])
        #expect(heap.isEmpty)
    }

    @Test("random chain heads follow libCacheSim's table through growth and deletes")
    func chainedTable() {
        let table = ChainedHashTable(hashPower: 2)
        for i in 1...12 { table.insert(UInt64(i * 1000 + 7), slot: Int32(i)) }
        table.remove(slot: 3)
        table.remove(slot: 8)
        #expect(table.hashPower == 4)
        #expect(table.count == 10)
        #expect(table.find(3007) == nil && table.find(4007) == 4)
        var r = LibCacheSimRandom(seed: 0)
        let drawn = (0..<12).map { _ in table.key(of: table.randomHead(&r)) }
        #expect(drawn == [5007, 9007, 11007, 10007, 6007, 2007, 1007, 12007, 7007, 5007, 9007, 11007])
    }
}
