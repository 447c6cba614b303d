import Foundation
import Testing
import TierHost
import TierKV

@Suite struct SwapFileTests {
    @Test func batchedRoundTripFreeMapAndFaults() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let slot = 64 << 10
        let swap = try SwapFile(path: dir.file("swap"), size: Int64(8 * slot + 100), slotSize: slot, queueDepth: 4)
        #expect(swap.slotCount == 8 && swap.slotSize == slot)
        // fallocate reserved the whole file.
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("swap"))
        #expect((attributes[.size] as? NSNumber)?.intValue == 8 * slot)

        let buffers = UnsafeMutableRawPointer.allocate(byteCount: 8 * slot, alignment: SwapFile.alignment)
        defer { buffers.deallocate() }
        for i in 0..<8 * slot { buffers.storeBytes(of: UInt8(truncatingIfNeeded: i * 31 + i / slot), toByteOffset: i, as: UInt8.self) }
        var slots: [Int32] = []
        while let s = swap.allocateSlot() { slots.append(s) }
        #expect(slots.count == 8 && swap.freeSlotCount == 0)
        let writes = slots.enumerated().map { SwapFile.Transfer(kind: .write, slot: $1, buffer: buffers + $0 * slot, length: slot) }
        #expect(swap.run(writes) == Array(repeating: Int32(slot), count: 8))

        let back = UnsafeMutableRawPointer.allocate(byteCount: 8 * slot, alignment: SwapFile.alignment)
        defer { back.deallocate() }
        back.initializeMemory(as: UInt8.self, repeating: 0, count: 8 * slot)
        let reads = slots.enumerated().map { SwapFile.Transfer(kind: .read, slot: $1, buffer: back + $0 * slot, length: slot) }
        #expect(swap.run(reads) == Array(repeating: Int32(slot), count: 8))
        #expect(memcmp(buffers, back, 8 * slot) == 0)

        // Freed slots are reused.
        swap.freeSlot(slots[3])
        #expect(swap.allocateSlot() == slots[3])

        // An injected fault replaces the outcome of exactly the transfers it names.
        swap.faultHook = { kind, s in kind == .read && s == slots[2] ? .error(EIO) : (s == slots[5] ? .short(4096) : nil) }
        let results = swap.run(reads)
        #expect(results[2] == -EIO && results[5] == 4096 && results[0] == Int32(slot))

        // Prefetch path: started reads finish with their tags.
        swap.faultHook = nil
        #expect(swap.start(reads[1], tag: 7))
        var finished: [(UInt64, Int32)] = []
        swap.finishStarted { finished.append(($0, $1)) }
        #expect(finished.count == 1 && finished[0].0 == 7 && finished[0].1 == Int32(slot))
    }

    /// Transfers built at submission into per-lane buffers: a lane is handed out only when its
    /// previous transfer has completed, so every slot gets the bytes stamped for it.
    @Test func laneBuffersAreNeverSharedInFlight() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let slot = 16 << 10, slots = 64, depth = 4
        let swap = try SwapFile(path: dir.file("swap"), size: Int64(slots * slot), slotSize: slot, queueDepth: depth)
        let lanes = UnsafeMutableRawPointer.allocate(byteCount: depth * slot, alignment: SwapFile.alignment)
        defer { lanes.deallocate() }
        var lanesSeen = Set<Int>()
        let written = swap.run(count: slots) { i, lane in
            lanesSeen.insert(lane)
            let buffer = lanes + lane * slot
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(i), count: slot)
            return SwapFile.Transfer(kind: .write, slot: Int32(i), buffer: buffer, length: slot)
        }
        #expect(written == Array(repeating: Int32(slot), count: slots))
        #expect(lanesSeen == Set(0..<depth))

        let back = UnsafeMutableRawPointer.allocate(byteCount: slots * slot, alignment: SwapFile.alignment)
        defer { back.deallocate() }
        let reads = (0..<slots).map { SwapFile.Transfer(kind: .read, slot: Int32($0), buffer: back + $0 * slot, length: slot) }
        #expect(swap.run(reads) == Array(repeating: Int32(slot), count: slots))
        let wrong = (0..<slots).filter { i in
            (0..<slot).contains { back.load(fromByteOffset: i * slot + $0, as: UInt8.self) != UInt8(i) }
        }
        #expect(wrong == [])
    }

    /// The ring is bound to the thread that issues (fio's single-issuer set-up); a batch run from
    /// another thread sets it up again there instead of failing.
    @Test func batchesRunFromAnotherThread() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let slot = 4096
        let swap = try SwapFile(path: dir.file("swap"), size: Int64(4 * slot), slotSize: slot, queueDepth: 2)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4 * slot, alignment: SwapFile.alignment)
        defer { buffer.deallocate() }
        for i in 0..<4 { (buffer + i * slot).initializeMemory(as: UInt8.self, repeating: UInt8(i + 1), count: slot) }
        let writes = (0..<4).map { SwapFile.Transfer(kind: .write, slot: Int32($0), buffer: buffer + $0 * slot, length: slot) }
        #expect(swap.run(writes) == Array(repeating: Int32(slot), count: 4))
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: 4 * slot)
        let reads = (0..<4).map { SwapFile.Transfer(kind: .read, slot: Int32($0), buffer: buffer + $0 * slot, length: slot) }
        let box = ResultBox { swap.run(reads) }
        let thread = Thread { box.results = box.work() }
        thread.start()
        while box.results == nil { usleep(1000) }
        #expect(box.results == Array(repeating: Int32(slot), count: 4))
        #expect((0..<4).allSatisfy { buffer.load(fromByteOffset: $0 * slot + slot - 1, as: UInt8.self) == UInt8($0 + 1) })
        // And back on this thread.
        #expect(swap.run(writes) == Array(repeating: Int32(slot), count: 4))
    }

    @Test func tooSmallAndUnsupportedAreLocatedErrors() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        do throws(SystemCallError) {
            _ = try SwapFile(path: dir.file("tiny"), size: 1000, slotSize: 4096)
            Issue.record("a 1000-byte swap file was accepted")
        } catch {
            #expect(error.description.contains("holds no slot of 4096 bytes"))
        }
    }
}

/// Work run on a helper thread and its result, handed back to the test's thread.
private final class ResultBox: @unchecked Sendable {
    let work: () -> [Int32]
    init(_ work: @escaping () -> [Int32]) { self.work = work }
    private let lock = NSLock()
    private var value: [Int32]?
    var results: [Int32]? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
