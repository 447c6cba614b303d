import Testing
import TierCore

@Suite("cache size parsing")
struct SizeSpecTests {
    @Test("units, fractions and percentages")
    func parse() throws {
        #expect(try SizeSpec.parse("4096") == .count(4096))
        #expect(try SizeSpec.parse("128MiB") == .bytes(134_217_728))
        #expect(try SizeSpec.parse("128mib") == .bytes(134_217_728))
        #expect(try SizeSpec.parse(" 1GiB ") == .bytes(1_073_741_824))
        #expect(try SizeSpec.parse("1GB") == .bytes(1_073_741_824))   // binary, as in libCacheSim
        #expect(try SizeSpec.parse("1.5GB") == .bytes(1_610_612_736))
        #expect(try SizeSpec.parse("64k") == .bytes(65_536))
        #expect(try SizeSpec.parse("2 TiB") == .bytes(2_199_023_255_552))
        #expect(try SizeSpec.parse("100B") == .bytes(100))
        #expect(try SizeSpec.parse("10%") == .percent(10))
        #expect(try SizeSpec.parse("0.5%") == .percent(0.5))
        #expect(try SizeSpec.parseList("128MiB,256MiB,10%") == [.bytes(134_217_728), .bytes(268_435_456), .percent(10)])
    }

    @Test("errors name the bad token")
    func errors() {
        func message(_ text: String) -> String {
            do { _ = try SizeSpec.parseList(text); return "" } catch { return error.description }
        }
        #expect(message("128MiB,12XB,1GiB") == "bad size '12XB': unknown unit 'XB' (use B, KiB, MiB, GiB, TiB or %)")
        #expect(message("abc").hasPrefix("bad size 'abc': expected a number"))
        #expect(message("1.2.3GiB").hasPrefix("bad size '1.2.3GiB'"))
        #expect(message("0") == "bad size '0': a size must be positive")
        #expect(message("1.5") == "bad size '1.5': a fractional size needs a unit")
        #expect(message("128MiB,,1GiB") == "bad size '': empty size")
        #expect(message("0%") == "bad size '0%': a percentage must be positive")
        #expect(message("99999999TiB") == "bad size '99999999TiB': too large")
    }

    @Test("resolving against the working set and the mode")
    func resolve() throws {
        #expect(try SizeSpec.percent(10).resolve(workingSet: 2_029_769_728, objectMode: false) == 202_976_973)
        #expect(try SizeSpec.percent(0.0001).resolve(workingSet: 100, objectMode: true) == 1)
        #expect(try SizeSpec.count(500).resolve(workingSet: 0, objectMode: true) == 500)
        #expect(throws: SizeSpecError.self) { try SizeSpec.bytes(1024).resolve(workingSet: 0, objectMode: true) }
    }
}
