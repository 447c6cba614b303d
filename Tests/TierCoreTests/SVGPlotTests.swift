import Testing
import TierCore

/// A small XML checker: tags nest and close, attribute values are quoted, and text and
/// attributes hold no bare `<` or `&` outside the five predefined entities.
private func checkWellFormed(_ svg: String) -> String? {
    let s = Array(svg.unicodeScalars)
    var i = 0
    var stack: [String] = []
    var roots = 0
    func checkEntities(_ text: ArraySlice<Unicode.Scalar>) -> Bool {
        let t = String(String.UnicodeScalarView(text))
        var rest = Substring(t)
        while let amp = rest.firstIndex(of: "&") {
            let after = rest[amp...]
            guard ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(where: { after.hasPrefix($0) }) else { return false }
            rest = rest[rest.index(after: amp)...]
        }
        return true
    }
    if svg.hasPrefix("<?xml") {
        guard let end = svg.range(of: "?>") else { return "unterminated XML declaration" }
        i = svg.unicodeScalars.distance(from: svg.unicodeScalars.startIndex, to: end.upperBound)
    }
    var textStart = i
    while i < s.count {
        if s[i] != "<" {
            if s[i] == ">" { return "bare > at \(i)" }
            i += 1
            continue
        }
        if !checkEntities(s[textStart..<i]) { return "bad entity in text before \(i)" }
        // Find the tag end, skipping quoted attribute values.
        var j = i + 1
        var quote: Unicode.Scalar? = nil
        while j < s.count {
            if let q = quote {
                if s[j] == q { quote = nil } else if s[j] == "<" { return "< inside an attribute at \(j)" }
            } else if s[j] == "\"" || s[j] == "'" {
                quote = s[j]
            } else if s[j] == ">" {
                break
            }
            j += 1
        }
        guard j < s.count else { return "unterminated tag at \(i)" }
        let tag = String(String.UnicodeScalarView(s[(i + 1)..<j]))
        if !checkEntities(s[(i + 1)..<j]) { return "bad entity in tag \(tag)" }
        if tag.hasPrefix("/") {
            let name = String(tag.dropFirst())
            guard stack.popLast() == name else { return "</\(name)> does not close the open element" }
        } else {
            let name = String(tag.prefix { $0 != " " && $0 != "/" })
            guard !name.isEmpty, name.first!.isLetter else { return "bad tag name in <\(tag)>" }
            if stack.isEmpty { roots += 1 }
            if !tag.hasSuffix("/") { stack.append(name) }
        }
        i = j + 1
        textStart = i
    }
    if !stack.isEmpty { return "unclosed: \(stack)" }
    return roots == 1 ? nil : "\(roots) root elements"
}

private func count(_ needle: String, in haystack: String) -> Int {
    haystack.split(separator: needle, omittingEmptySubsequences: false).count - 1
}

@Suite("SVG plots")
struct SVGPlotTests {
    @Test("byte, number and percent formatting")
    func formatting() {
        #expect(SVGFormat.bytes(134_217_728) == "128 MiB")
        #expect(SVGFormat.bytes(1.5 * 1_073_741_824) == "1.5 GiB")
        #expect(SVGFormat.bytes(805_306_368) == "768 MiB")
        #expect(SVGFormat.bytes(512) == "512 B")
        #expect(SVGFormat.bytes(0) == "0 B")
        #expect(SVGFormat.bytes(4096) == "4 KiB")
        #expect(SVGFormat.bytes(1_048_575) == "1 MiB")
        #expect(SVGFormat.bytes(3 * 1_099_511_627_776) == "3 TiB")
        #expect(SVGFormat.number(950) == "950")
        #expect(SVGFormat.number(1500) == "1.5k")
        #expect(SVGFormat.number(20_000_000) == "20M")
        #expect(SVGFormat.number(0.25) == "0.25")
        #expect(SVGFormat.number(-3) == "-3")
        #expect(AxisFormat.percent.format(0.255) == "25.5%")
        #expect(SVGFormat.fixed(2.005, decimals: 1) == "2")
        #expect(SVGFormat.fixed(-0.001, decimals: 2) == "0")
        #expect(SVGFormat.fixed(12.5, decimals: 2) == "12.5")
    }

    @Test("nice ticks")
    func ticks() {
        #expect(Ticks.linear(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(Ticks.linear(0, 0.93) == [0, 0.2, 0.4, 0.6, 0.8])
        #expect(Ticks.linear(3, 97) == [20, 40, 60, 80])
        #expect(Ticks.linear(0.1, 0.35) == [0.1, 0.15, 0.2, 0.25, 0.3, 0.35])
        #expect(Ticks.log(1, 1_000_000) == [1, 10, 100, 1000, 10_000, 100_000, 1_000_000])
        #expect(Ticks.log(3, 200) == [5, 10, 20, 50, 100, 200])
        let mib = 1_048_576.0
        #expect(Ticks.logBytes(mib, 2048 * mib).map(SVGFormat.bytes) == ["1 MiB", "4 MiB", "16 MiB", "64 MiB", "256 MiB", "1 GiB"])
        #expect(Ticks.bytes(0, 2048 * mib).map(SVGFormat.bytes) == [
            "0 B", "256 MiB", "512 MiB", "768 MiB", "1 GiB", "1.25 GiB", "1.5 GiB", "1.75 GiB", "2 GiB",
        ])
    }

    @Test("escaping")
    func escaping() {
        #expect(SVGFormat.escape(#"a<b & "c">'d'"#) == "a&lt;b &amp; &quot;c&quot;&gt;&apos;d&apos;")
        #expect(SVGFormat.escape("bell\u{07}") == "bell\u{FFFD}")
    }

    @Test("a line chart is well-formed SVG with axes, legend and escaped names")
    func lineChart() throws {
        let mib = 1_048_576.0
        let a = LineSeries(name: "LRU <exact> & more", points: [(mib, 0.9), (16 * mib, 0.6), (256 * mib, 0.4), (1024 * mib, 0.3)], step: true)
        let b = LineSeries(name: "SHARDS R=0.1", points: [(0, 1), (mib, 0.88), (1024 * mib, 0.31)], dashed: true)
        let chart = LineChart(title: "Miss ratio of trace \"x\" <cloud>",
                              x: ChartAxis(label: "cache size (bytes)", format: .bytes, scale: .log),
                              y: ChartAxis(label: "miss ratio", format: .number, range: 0...1),
                              series: [a, b])
        let svg = chart.svg()
        #expect(checkWellFormed(svg) == nil, "\(checkWellFormed(svg) ?? "")")
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.contains(#"<svg xmlns="http://www.w3.org/2000/svg""#))
        #expect(svg.contains("LRU &lt;exact&gt; &amp; more"))
        #expect(!svg.contains("LRU <exact>"))
        #expect(svg.contains("Miss ratio of trace &quot;x&quot; &lt;cloud&gt;"))
        #expect(count("<polyline", in: svg) == 2)
        #expect(svg.contains(">1 MiB</text>") && svg.contains(">1 GiB</text>"))
        #expect(svg.contains(">0.6</text>") && svg.contains(">1</text>"))
        #expect(svg.contains(">cache size (bytes)</text>") && svg.contains(">miss ratio</text>"))
        #expect(svg.contains("stroke-dasharray"))
        // The x = 0 point cannot sit on a log axis and is dropped.
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test("a heatmap is well-formed, merges equal runs and skips NaN cells")
    func heatmap() {
        let values: [[Double]] = [
            [0, 0, 0, 0],
            [1, 2, 3, 4],
            [.nan, 8, 8, 16],
        ]
        var h = Heatmap(title: "page accesses & <hot> pages", xLabel: "time (s)", yLabel: "address",
                        valueLabel: "accesses", values: values,
                        xLabels: .range(0...40, .number), yLabels: .range(0...(3 * 4096), .bytes))
        var svg = h.svg()
        #expect(checkWellFormed(svg) == nil, "\(checkWellFormed(svg) ?? "")")
        #expect(svg.contains("page accesses &amp; &lt;hot&gt; pages"))
        #expect(svg.contains("fill=\"#440154\""))   // the minimum
        #expect(svg.contains("fill=\"#fde725\""))   // the maximum
        // Row 0 is one merged rect, row 1 four, row 2 two (NaN skipped, 8 8 merged).
        let cells = svg.split(separator: "<g class=\"cells\"")[1].split(separator: "</g>")[0]
        #expect(count("<rect", in: String(cells)) == 7)
        #expect(svg.contains(">4 KiB</text>") && svg.contains(">12 KiB</text>"))
        #expect(svg.contains(">accesses</text>"))
        h.logColor = true
        h.xLabels = .names(["a<b", "b", "c", "d"])
        svg = h.svg()
        #expect(checkWellFormed(svg) == nil, "\(checkWellFormed(svg) ?? "")")
        #expect(svg.contains(">a&lt;b</text>"))
    }
}
