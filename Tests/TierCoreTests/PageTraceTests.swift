import Foundation
import Testing
import TierCore

/// Writes `records` as a `.tkt` file and returns its path.
@discardableResult
func writePageTrace(_ path: String, header: PageTraceHeader = PageTraceHeader(kernelRelease: "test"),
                    _ records: [PageTraceRecord], bufferRecords: Int = 4096) throws -> String {
    let w = try PageTraceWriter(path: path, header: header,
                                policy: .init(maxBufferedRecords: bufferRecords, maxDelayNanoseconds: nil))
    for r in records { try w.append(r) }
    try w.close()
    return path
}

/// Every record of a page trace, and its torn tail.
func readPageTrace(_ path: String) throws(TraceError) -> (PageTraceHeader, [PageTraceRecord], PageTraceTornTail?) {
    var reader = try PageTraceReader(path: path)
    var out: [PageTraceRecord] = []
    while let r = try reader.next() { out.append(r) }
    return (reader.header, out, reader.tornTail)
}

/// The TraceError `body` throws, nil when it succeeds.
func traceError(_ body: () throws -> Void) -> TraceError? {
    do {
        try body()
        return nil
    } catch let e as TraceError {
        return e
    } catch {
        Issue.record("not a TraceError: \(error)")
        return nil
    }
}

/// Size of a file in bytes (0 when absent).
func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

/// Recomputes the header checksum of a `.tkt` image in place (to build headers
/// that are structurally valid but carry bad values).
func fixChecksum(_ bytes: inout [UInt8]) {
    let length = Int(UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24)
    for i in 16..<24 { bytes[i] = 0 }
    let sum = bytes[0..<length].withUnsafeBytes { XXHash64.hash($0, seed: 0) }
    withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[16 + i] = $0[i] } }
}

@Suite("Page traces (.tkt)")
struct PageTraceTests {
    static let fullHeader = PageTraceHeader(
        kernelRelease: "6.18.0-test", pageSize: 4096,
        targets: [.pid(1234), .cgroup("/sys/fs/cgroup/job a"), .command("python3 -c 'x = 1'")],
        sources: ["faults", "reclaim", "lru"], startRealtimeNs: 1_763_800_000_123_456_789,
        startMonotonicNs: 987_654_321_000, mode: .events,
        extra: [.init(key: "recorder", value: "tierkit-record 0.1"), .init(key: "host", value: "vm-ü")])

    /// One record of every kind, with extreme field values.
    static let sampleRecords: [PageTraceRecord] = PageEventKind.allCases.enumerated().map { i, k in
        PageTraceRecord(time: UInt64(i) * 1_000_003 + (i == 11 ? UInt64.max - 20_000_000 : 0),
                        address: i == 0 ? UInt64.max &- 4095 : 0x7fff_0000_0000 + UInt64(i) * 4096,
                        pid: i == 1 ? UInt32.max : 100 + UInt32(i % 3), tid: 200 + UInt32(i), kind: k,
                        flags: PageEventFlags(rawValue: i == 2 ? 0xffff : UInt16(i)),
                        count: i == 3 ? UInt32.max : 1 + UInt32(i))
    }

    @Test("write then read: every header field and record exactly, through any buffer size")
    func roundTrip() throws {
        let tmp = Scratch()
        for buffer in [1, 3, 4096] {
            let path = try writePageTrace(tmp.path("r\(buffer).tkt"), header: Self.fullHeader, Self.sampleRecords, bufferRecords: buffer)
            let (header, records, torn) = try readPageTrace(path)
            #expect(header == Self.fullHeader)
            #expect(records == Self.sampleRecords)
            #expect(torn == nil)
            let reader = try PageTraceReader(path: path)
            #expect(reader.recordCountFromSize == 12)
            let size = fileSize(path)
            #expect(Int64(size) == reader.headerLength + 12 * 32)
            #expect(reader.headerLength % 8 == 0)
        }
        // The fixed part as documented in README.md.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp.path("r1.tkt"))))
        #expect(Array(bytes[0..<4]) == Array("TKT1".utf8))
        #expect(bytes[4] == 1 && bytes[5] == 0)
        #expect(bytes[6] == 32 && bytes[7] == 0)
        // Record 0 at the header's end: time 0, address, pid, tid, count, kind, reserved, flags.
        let h = Int(try PageTraceReader(path: tmp.path("r1.tkt")).headerLength)
        #expect(Array(bytes[h..<h + 8]) == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[h + 8..<h + 16]) == [0x00, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        #expect(Array(bytes[h + 16..<h + 20]) == [100, 0, 0, 0])
        #expect(Array(bytes[h + 20..<h + 24]) == [200, 0, 0, 0])
        #expect(Array(bytes[h + 24..<h + 28]) == [1, 0, 0, 0])
        #expect(Array(bytes[h + 28..<h + 32]) == [1, 0, 0, 0])
    }

    @Test("an empty trace, an aggregated trace and the defaults round-trip")
    func emptyAndAggregated() throws {
        let tmp = Scratch()
        let empty = try writePageTrace(tmp.path("e.tkt"), header: PageTraceHeader(), [])
        let (h, r, t) = try readPageTrace(empty)
        #expect(h == PageTraceHeader() && r.isEmpty && t == nil)
        var agg = PageTraceHeader(kernelRelease: "k", mode: .aggregated)
        agg.pageSize = 65536
        let recs = [PageTraceRecord(time: 5, address: 0x10000, pid: 1, tid: 1, kind: .access, count: 42)]
        let (h2, r2, _) = try readPageTrace(try writePageTrace(tmp.path("a.tkt"), header: agg, recs))
        #expect(h2 == agg && r2 == recs && h2.pageShift == 16)
    }

    @Test("the writer refuses bad headers and zero counts, and a dropped writer keeps its records")
    func writerRules() throws {
        let tmp = Scratch()
        var bad = PageTraceHeader()
        bad.pageSize = 3000
        #expect(traceError { _ = try PageTraceWriter(path: tmp.path("b.tkt"), header: bad) }?.message.contains("page size 3000") == true)
        bad = PageTraceHeader(extra: [.init(key: "mode", value: "x")])
        #expect(traceError { _ = try PageTraceWriter(path: tmp.path("b.tkt"), header: bad) }?.message.contains("reserved") == true)
        #expect(!FileManager.default.fileExists(atPath: tmp.path("b.tkt")))

        let w = try PageTraceWriter(path: tmp.path("z.tkt"), header: PageTraceHeader())
        let e = traceError { try w.append(PageTraceRecord(time: 0, address: 0, pid: 1, tid: 1, kind: .access, count: 0)) }
        #expect(e?.message == "count must be at least 1")

        // Flush policy: nothing reaches the file until the buffer fills, or a flush.
        let path = tmp.path("f.tkt")
        do {
            let w2 = try PageTraceWriter(path: path, header: PageTraceHeader(), policy: .init(maxBufferedRecords: 4, maxDelayNanoseconds: nil))
            for i in 0..<6 { try w2.append(PageTraceSelfTest.record(Int64(i))) }
            #expect(w2.recordsWritten == 4 && w2.recordsAppended == 6)
            #expect(try readPageTrace(path).1.count == 4)
            try w2.flushIfDue()  // no time policy: nothing due
            #expect(w2.recordsWritten == 4)
            try w2.flush(sync: true)
            #expect(try readPageTrace(path).1.count == 6)
            try w2.append(PageTraceSelfTest.record(6))
            // Dropped without close: deinit writes the buffer.
        }
        #expect(try readPageTrace(path).1 == (0..<7).map { PageTraceSelfTest.record(Int64($0)) })

        // A zero delay flushes on every append.
        let w3 = try PageTraceWriter(path: tmp.path("d.tkt"), header: PageTraceHeader(), policy: .init(maxBufferedRecords: 100, maxDelayNanoseconds: 0))
        try w3.append(PageTraceSelfTest.record(0))
        #expect(w3.recordsWritten == 1)
        try w3.close()
        #expect(traceError { try w3.append(PageTraceSelfTest.record(1)) }?.message == "the writer is closed")
    }

    @Test("a file cut at every byte of its last record reads all complete records and reports the torn tail")
    func tornTail() throws {
        let tmp = Scratch()
        let records = (0..<5).map { PageTraceSelfTest.record(Int64($0)) }
        let path = try writePageTrace(tmp.path("full.tkt"), records)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let h = bytes.count - 5 * 32
        for cut in 0..<32 {
            let p = tmp.write("cut\(cut).tkt", bytes: Array(bytes[0..<h + 4 * 32 + cut]))
            let (_, got, torn) = try readPageTrace(p)
            #expect(got == Array(records.prefix(4)), "cut \(cut)")
            if cut == 0 {
                #expect(torn == nil)
            } else {
                #expect(torn == PageTraceTornTail(offset: Int64(h + 128), length: cut, recordIndex: 4), "cut \(cut)")
            }
            // Stats and requests read the same complete records.
            let stats = try PageTraceStats.compute(path: p)
            #expect(stats.records == 4 && stats.tornTail?.length == (cut == 0 ? nil : cut))
        }
        // Cut inside the header: a located error, never records.
        for cut in [0, 3, 4, 23, 24, h - 1] {
            let p = tmp.write("hcut\(cut).tkt", bytes: Array(bytes[0..<cut]))
            let e = traceError { _ = try readPageTrace(p) }
            guard let e else { Issue.record("header cut at \(cut) read without error"); continue }
            if case .header = e.location {} else { Issue.record("header cut at \(cut): \(e)") }
            #expect(e.message.contains("truncated header") || e.message.contains("expected the magic"), "\(e)")
        }
    }

    @Test("a writer killed with SIGKILL leaves every complete record intact and in sequence")
    func sigkill() throws {
        guard let binary = tierkitBinary() else {
            print("tkt SIGKILL test: SKIPPED - the tierkit executable was not found beside the test bundle; build it or set TIERKIT_BIN")
            if getuid() == 0 { Issue.record("tierkit binary missing") }
            return
        }
        let tmp = Scratch()
        let path = tmp.path("killed.tkt")
        let total: Int64 = 1_000_000
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["trace", "selftest-write", path, "\(total)", "--delay-us", "20", "--batch", "7"]
        try process.run()
        // Wait until some records are down, then kill mid-stream.
        let deadline = Date().addingTimeInterval(20)
        var size = 0
        while Date() < deadline {
            size = fileSize(path)
            if size > 4096 + 500 * 32 { break }
            usleep(2000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)

        let (header, records, torn) = try readPageTrace(path)
        #expect(header == PageTraceSelfTest.header)
        #expect(records.count >= 500 && Int64(records.count) < total, "\(records.count) records")
        var intact = true
        for (i, r) in records.enumerated() where r != PageTraceSelfTest.record(Int64(i)) {
            Issue.record("record \(i) differs: \(r)")
            intact = false
            break
        }
        #expect(intact)
        let reader = try PageTraceReader(path: path)
        #expect(Int64(fileSize(path)) == reader.headerLength + Int64(records.count) * 32 + Int64(torn?.length ?? 0))
        #expect(!FileManager.default.fileExists(atPath: path + ".tkt-\(process.processIdentifier).partial"))
    }

    /// The tierkit executable built beside the test bundle (or `$TIERKIT_BIN`).
    func tierkitBinary() -> String? {
        if let p = ProcessInfo.processInfo.environment["TIERKIT_BIN"] { return p }
        var candidates: [URL] = []
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("tierkit"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("tierkit"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c.path }
        return nil
    }

    @Test("corrupted headers and impossible records give located errors")
    func corruption() throws {
        let tmp = Scratch()
        let path = try writePageTrace(tmp.path("ok.tkt"), header: Self.fullHeader, Array(Self.sampleRecords.prefix(4)))
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let h = Int(try PageTraceReader(path: path).headerLength)

        func check(_ name: String, _ mutate: (inout [UInt8]) -> Void, fix: Bool = false, _ expected: TraceError.Location, _ text: String) {
            var b = good
            mutate(&b)
            if fix { fixChecksum(&b) }
            let p = tmp.write(name, bytes: b)
            let e = traceError { _ = try readPageTrace(p) }
            #expect(e?.location == expected, "\(name): \(e.map(String.init(describing:)) ?? "no error")")
            #expect(e?.message.contains(text) == true, "\(name): \(e.map(String.init(describing:)) ?? "no error")")
            #expect(e?.path == p)
        }
        check("magic", { $0[1] = 0x58 }, .header(offset: 0), "expected the magic \"TKT1\", found \"TXT1\"")
        check("version", { $0[4] = 2 }, .header(offset: 4), "unsupported version 2")
        check("recsize", { $0[6] = 24 }, .header(offset: 6), "record size 24, expected 32")
        check("hlen", { $0[8] = 13 }, .header(offset: 8), "header length")
        check("hlen-big", { $0[10] = 0xff }, .header(offset: 8), "header length")
        check("entries", { $0[12] = 0xff; $0[13] = 0xff }, .header(offset: 12), "entries cannot fit")
        check("checksum", { $0[30] ^= 1 }, .header(offset: 16), "header checksum mismatch")
        check("padding", { $0[h - 1] = 7 }, .header(offset: Int64(h - 1)), "padding must be zero")
        // A key length running past the end is located at its entry.
        check("keylen", { $0[24] = 0xff; $0[25] = 0xff }, .header(offset: 24), "runs past the header's end")
        // Values that parse structurally but are impossible.
        func after(_ key: String) -> Int {
            let k = Array(key.utf8)
            let at = (0...(h - k.count)).first { Array(good[$0..<$0 + k.count]) == k }!
            return at + k.count + 4  // the value follows the key and its u32 length
        }
        let pageAt = after("page_size")
        check("pagesize", { $0[pageAt + 3] = UInt8(ascii: "7") }, fix: true, .header(offset: Int64(pageAt)), "page_size: expected a power of two")
        let modeAt = after("mode")
        check("mode", { $0[modeAt] = UInt8(ascii: "x") }, fix: true, .header(offset: Int64(modeAt)), "mode: expected \"events\" or \"aggregated\"")
        check("utf8", { $0[modeAt] = 0xff }, fix: true, .header(offset: Int64(modeAt)), "not valid UTF-8")
        // Records: unknown kind, reserved byte, zero count; located by index and offset.
        check("kind", { $0[h + 2 * 32 + 28] = 0 }, .record(index: 2, offset: Int64(h + 64)), "unknown event kind 0")
        check("kind99", { $0[h + 3 * 32 + 28] = 99 }, .record(index: 3, offset: Int64(h + 96)), "unknown event kind 99")
        check("reserved", { $0[h + 29] = 1 }, .record(index: 0, offset: Int64(h)), "reserved byte is 1")
        check("count", { for i in 24..<28 { $0[h + 32 + i] = 0 } }, .record(index: 1, offset: Int64(h + 32)), "count is 0")
        // Not a page trace at all.
        let other = tmp.write("x.tkt", bytes: oracleBytes([(1, 2, 3, -1)]))
        #expect(traceError { _ = try readPageTrace(other) }?.description == "\(other): header byte offset 0: not a .tkt page trace: expected the magic \"TKT1\", found \"\\x1\\x0\\x0\\x0\"")
    }

    @Test("seeded mutations never crash the reader: they read or throw a TraceError")
    func fuzz() throws {
        let tmp = Scratch()
        let base = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try writePageTrace(
            tmp.path("base.tkt"), header: Self.fullHeader, (0..<40).map { PageTraceSelfTest.record(Int64($0)) }))))
        var rng = Xoshiro256StarStar(seed: 2026)
        let cases = Int(ProcessInfo.processInfo.environment["TIERKIT_FUZZ_CASES"] ?? "") ?? 600
        var outcomes = (read: 0, errors: 0, torn: 0)
        for c in 0..<cases {
            var b = base
            let region = rng.next() % 3  // header, records, anywhere
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                switch rng.next() % 4 {
                case 0, 1:  // flip a byte
                    let at = region == 0 ? Int(rng.next() % 200) : Int(rng.next() % UInt64(b.count))
                    if at < b.count { b[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
                case 2:  // truncate
                    b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1))))
                default:  // insert bytes
                    let at = Int(rng.next() % UInt64(b.count + 1))
                    b.insert(contentsOf: (0..<Int(1 + rng.next() % 9)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                }
                if b.isEmpty { break }
            }
            let p = tmp.write("f\(c % 8).tkt", bytes: b)
            do {
                let (_, records, torn) = try readPageTrace(p)
                outcomes.read += 1
                if torn != nil { outcomes.torn += 1 }
                #expect(records.count <= 41)
            } catch {
                outcomes.errors += 1
                continue
            }
            // What reads must also summarise, bin and plot without trapping (a far-off
            // time may still be refused by the working-set series, with a TraceError).
            let stats = try PageTraceStats.compute(path: p)
            _ = try? WorkingSetSeries.compute(path: p, interval: 1_000)
            let map = try PageAccessHeatmap.compute(path: p, timeBins: 7, addressBins: 5)
            #expect(map.accesses == UInt64(stats.accessEvents))
        }
        #expect(outcomes.read + outcomes.errors == cases)
        #expect(outcomes.read > 0 && outcomes.errors > 0 && outcomes.torn > 0)
    }

    @Test("stats: records and events by kind, distinct pages, pids, duration")
    func stats() throws {
        let tmp = Scratch()
        var recs: [PageTraceRecord] = []
        for i in 0..<300 {
            let pid: UInt32 = i % 3 == 0 ? 7 : 9
            recs.append(PageTraceRecord(time: 1_000 + UInt64(i) * 10, address: 0x400000 + UInt64(i % 50) * 4096, pid: pid, tid: pid,
                                        kind: i % 2 == 0 ? .readFault : .writeFault))
        }
        recs.append(PageTraceRecord(time: 5_000, address: 0x999000, pid: 9, tid: 9, kind: .reclaim))
        recs.append(PageTraceRecord(time: 900, address: 0x400000, pid: 11, tid: 11, kind: .damonRegion, count: 17))
        let path = try writePageTrace(tmp.path("s.tkt"), header: Self.fullHeader, recs)
        let s = try PageTraceStats.compute(path: path)
        #expect(s.records == 302)
        #expect(s.events == 300 + 1 + 17)
        #expect(s.recordsByKind[Int(PageEventKind.readFault.rawValue)] == 150)
        #expect(s.recordsByKind[Int(PageEventKind.writeFault.rawValue)] == 150)
        #expect(s.eventsByKind[Int(PageEventKind.damonRegion.rawValue)] == 17)
        #expect(s.accessEvents == 300)
        // i % 50 with pid from i % 3: page k is touched by pid 7 iff some i ≡ k (mod 50) has i ≡ 0 (mod 3): always.
        #expect(s.distinctAccessedPages == 100)
        #expect(s.distinctPages == 101)
        #expect(s.pids.map(\.pid) == [7, 9, 11] && s.pids.map(\.records) == [100, 201, 1])
        #expect(s.minTime == 900 && s.maxTime == 5_000 && s.duration == 4_100)
        #expect(s.outOfOrderRecords == 1)
        #expect(s.tornTail == nil)
    }

    @Test("a .tkt is detected by extension and by magic, and reads as page requests")
    func detectionAndRequests() throws {
        let tmp = Scratch()
        let recs = [
            PageTraceRecord(time: 3_000_000, address: 0x1000, pid: 1, tid: 1, kind: .readFault),
            PageTraceRecord(time: 4_500_000, address: 0x1000, pid: 2, tid: 2, kind: .writeFault),
            PageTraceRecord(time: 5_000_000, address: 0x2fff, pid: 1, tid: 1, kind: .reclaim),
            PageTraceRecord(time: 7_999_999, address: 0x2000, pid: 1, tid: 1, kind: .execFault),
        ]
        let path = try writePageTrace(tmp.path("p.tkt"), recs)
        let odd = tmp.write("p.data", bytes: try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(try TraceFormat.detect(path: path) == .tkt)
        #expect(try TraceFormat.detect(path: odd) == .tkt)
        #expect(TraceFormat(name: "tkt") == .tkt)
        let byPid = try requests(TraceSpec.open(path: odd))
        #expect(byPid == [Request(time: 3, id: (1 << 40) ^ 1, size: 4096), Request(time: 4, id: (2 << 40) ^ 1, size: 4096),
                          Request(time: 7, id: (1 << 40) ^ 2, size: 4096)])
        let byPage = try requests(TraceSpec(path: path, format: .tkt, objectMode: true, page: PageRequestOptions(idMode: .page)))
        #expect(byPage.map(\.id) == [1, 1, 2] && byPage.map(\.size) == [1, 1, 1])
        let onePid = try requests(TraceSpec(path: path, format: .tkt, page: PageRequestOptions(pid: 2)))
        #expect(onePid.map(\.id) == [(2 << 40) ^ 1])
        var source = try PageRequestSource(path: path)
        _ = try readAll(&source)
        #expect(source.nonAccessRecords == 1)
    }

    @Test("events as CSV: one row per record")
    func csv() throws {
        let tmp = Scratch()
        let path = try writePageTrace(tmp.path("c.tkt"), [
            PageTraceRecord(time: 12, address: 0x7ffd_1234_5000, pid: 42, tid: 43, kind: .writeFault, flags: [.anonymous, .major]),
            PageTraceRecord(time: 0, address: 0, pid: 0, tid: 0, kind: .pageCacheInsert, flags: [], count: 9),
        ])
        var reader = try PageTraceReader(path: path)
        #expect(try PageTraceCSV.write(&reader, to: tmp.path("c.csv")) == 2)
        #expect(try String(contentsOfFile: tmp.path("c.csv"), encoding: .utf8) == """
            time_ns,pid,tid,address,kind,flags,count
            12,42,43,0x7ffd12345000,write_fault,5,1
            0,0,0,0x0,page_cache_insert,0,9

            """)
    }

    @Test("convert to oracleGeneral, replay through LRU: a 100-page loop in 50 pages misses every time")
    func replayLoop() throws {
        let tmp = Scratch()
        var recs: [PageTraceRecord] = []
        var t: UInt64 = 0
        for round in 0..<10 {
            for p in 0..<100 {
                t += 1_000_000  // 1 ms apart
                recs.append(PageTraceRecord(time: t, address: 0x5555_0000_0000 + UInt64(p) * 4096, pid: 77, tid: 77,
                                            kind: p % 3 == 0 ? .writeFault : .readFault))
                // Kernel events in between are not requests.
                if p % 10 == 0 { recs.append(PageTraceRecord(time: t, address: UInt64(round) * 4096, pid: 77, tid: 77, kind: .reclaim)) }
            }
        }
        let tkt = try writePageTrace(tmp.path("loop.tkt"), recs)
        var source = try PageRequestSource(path: tkt)
        let bin = tmp.path("loop.oracleGeneral.bin")
        let summary = try TraceWriter.write(&source, to: bin, format: .oracleGeneral)
        #expect(summary.requests == 1000 && summary.computedNextAccess)
        #expect(source.nonAccessRecords == 100)

        let (lru, params) = try Policies.parse("lru")
        for (pages, misses) in [(50, 1000), (99, 1000), (100, 100), (200, 100)] as [(Int64, Int64)] {
            for spec in [TraceSpec(path: bin, format: .oracleGeneral), TraceSpec(path: tkt, format: .tkt)] {
                var setup = ReplaySetup(trace: spec, capacity: pages * 4096, parameters: params)
                let out = try lru.run(&setup)
                #expect(out.counts.requests == 1000)
                #expect(out.counts.misses == misses, "\(spec.format) at \(pages) pages")
                #expect(out.counts.bytes == 1000 * 4096)
            }
        }
        // Belady runs on the computed next access and beats LRU on a loop.
        let (belady, bparams) = try Policies.parse("belady")
        var setup = ReplaySetup(trace: TraceSpec(path: bin, format: .oracleGeneral), capacity: 50 * 4096, parameters: bparams)
        let opt = try belady.run(&setup).counts.misses
        #expect(opt > 100 && opt < 1000)
    }

    @Test("heatmap binning: exact counts per address bin and time bin over compressed regions")
    func heatmapBins() throws {
        let tmp = Scratch()
        var recs: [PageTraceRecord] = []
        let a: UInt64 = 0x1000_0000, b: UInt64 = 0x7f00_0000_0000
        for i in 0..<1000 {
            let base = i < 600 ? a : b
            recs.append(PageTraceRecord(time: UInt64(i), address: base + UInt64(i % 16) * 4096, pid: 1, tid: 1, kind: .readFault))
            if i % 100 == 0 {
                // Another process, and a kernel event far away: neither is in the pid-1 map.
                recs.append(PageTraceRecord(time: UInt64(i), address: 0x3000_0000, pid: 2, tid: 2, kind: .writeFault))
                recs.append(PageTraceRecord(time: UInt64(i), address: 0x5000_0000, pid: 1, tid: 1, kind: .reclaim))
            }
        }
        let path = try writePageTrace(tmp.path("h.tkt"), recs)
        let map = try PageAccessHeatmap.compute(path: path, pid: 1, timeBins: 10, addressBins: 4, chunkPages: 16)
        #expect(map.regions == [.init(startPage: 0x10000, pages: 16, offset: 0), .init(startPage: 0x7f00_0000_0, pages: 16, offset: 16)])
        #expect(map.compressedPages == 32 && map.timeStart == 0 && map.timeEnd == 999)
        #expect(map.timeBins == 10 && map.addressBins == 4 && map.accesses == 1000)
        // Time bin k holds i in [100k, 100k + 100); rows: region A pages 0-7, 8-15, region B 0-7, 8-15.
        let low: [UInt64] = [52, 52, 48, 48, 52, 52, 48, 48, 52, 52]
        for k in 0..<10 {
            let inA = k < 6
            #expect(map.count(addressBin: 0, timeBin: k) == (inA ? low[k] : 0), "bin 0, \(k)")
            #expect(map.count(addressBin: 1, timeBin: k) == (inA ? 100 - low[k] : 0), "bin 1, \(k)")
            #expect(map.count(addressBin: 2, timeBin: k) == (inA ? 0 : low[k]), "bin 2, \(k)")
            #expect(map.count(addressBin: 3, timeBin: k) == (inA ? 0 : 100 - low[k]), "bin 3, \(k)")
        }
        #expect(map.addressBin(page: 0x10008) == 1 && map.addressBin(page: 0x10010) == nil && map.addressBin(page: 0xffff) == nil)
        #expect(map.timeBin(0) == 0 && map.timeBin(99) == 0 && map.timeBin(100) == 1 && map.timeBin(999) == 9)
        // All pids: pid 2's page is a third region between the two.
        let all = try PageAccessHeatmap.compute(path: path, timeBins: 10, addressBins: 6, chunkPages: 16)
        #expect(all.regions.map(\.startPage) == [0x10000, 0x30000, 0x7f00_0000_0])
        #expect(all.accesses == 1010 && all.compressedPages == 48)
        // Closing gaps: runs at chunks 0-1, 5-6, 20, 100; three regions keep the two largest gaps.
        #expect(PageAccessHeatmap.regions(chunks: [0, 1, 5, 6, 20, 100], chunkPages: 1, maxRegions: 3)
                == [.init(startPage: 0, pages: 7, offset: 0), .init(startPage: 20, pages: 1, offset: 7), .init(startPage: 100, pages: 1, offset: 8)])
        #expect(PageAccessHeatmap.regions(chunks: [0, 1, 5, 6, 20, 100], chunkPages: 4, maxRegions: 1)
                == [.init(startPage: 0, pages: 404, offset: 0)])
    }

    @Test("working-set size: distinct pages per interval, exact")
    func workingSet() throws {
        let tmp = Scratch()
        var recs: [PageTraceRecord] = []
        for i in 0..<1000 {
            let page = i < 500 ? i % 16 : i % 32
            recs.append(PageTraceRecord(time: UInt64(i) * 1000, address: 0x10_0000 + UInt64(page) * 4096, pid: 5, tid: 5,
                                        kind: .readFault, count: i % 2 == 0 ? 1 : 2))
            if i % 7 == 0 { recs.append(PageTraceRecord(time: UInt64(i) * 1000, address: 0x90_0000, pid: 5, tid: 5, kind: .reclaim)) }
        }
        // Interval 4 (0.4-0.5 ms) of pid 6 touches the same addresses: other pages.
        recs.append(PageTraceRecord(time: 450_000, address: 0x10_0000, pid: 6, tid: 6, kind: .readFault))
        recs.append(PageTraceRecord(time: 2_500_000, address: 0x10_0000, pid: 6, tid: 6, kind: .readFault))
        let path = try writePageTrace(tmp.path("w.tkt"), recs)
        let w = try WorkingSetSeries.compute(path: path, interval: 100_000)
        #expect(w.pages == [16, 16, 16, 16, 17] + [Int64](repeating: 32, count: 5) + [Int64](repeating: 0, count: 15) + [1])
        #expect(w.accesses[0] == 150 && w.accesses[4] == 151 && w.accesses[25] == 1)
        #expect(w.bytes(5) == 32 * 4096)
        let only5 = try WorkingSetSeries.compute(path: path, interval: 250_000, pid: 5)
        #expect(only5.pages == [16, 16, 32, 32])
        let late = try writePageTrace(tmp.path("late.tkt"), [PageTraceRecord(time: 1 << 40, address: 0, pid: 1, tid: 1, kind: .access)])
        let e = traceError { _ = try WorkingSetSeries.compute(path: late, interval: 1000) }
        #expect(e?.location == .record(index: 0, offset: try PageTraceReader(path: late).headerLength))
        #expect(e?.message.contains("use a longer interval") == true)
    }
}
