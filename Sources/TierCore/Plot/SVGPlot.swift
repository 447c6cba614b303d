#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Dependency-free SVG charts: line charts (miss-ratio curves) and heatmaps (page
// access over time). Everything renders to a String; nothing touches the file system.

/// How axis values are written.
public enum AxisFormat: Sendable, Equatable {
    /// Plain numbers; thousands and up as `1.5k`, `20M`.
    case number
    /// Byte counts in binary units: `512 KiB`, `1.5 GiB`.
    case bytes
    /// Fractions as percentages: `0.25` → `25%`.
    case percent

    /// Formats one value.
    public func format(_ value: Double) -> String {
        switch self {
        case .number: return SVGFormat.number(value)
        case .bytes: return SVGFormat.bytes(value)
        case .percent: return SVGFormat.fixed(value * 100, decimals: 2) + "%"
        }
    }
}

/// Linear or logarithmic axis.
public enum AxisScale: Sendable, Equatable {
    case linear
    /// Logarithmic; values ≤ 0 are left out of the chart.
    case log
}

/// One axis of a chart.
public struct ChartAxis: Sendable {
    /// The axis title, with its unit, e.g. "cache size (bytes)".
    public var label: String
    public var format: AxisFormat
    public var scale: AxisScale
    /// Fixed data range; nil fits the data (widened to nice ticks on a linear axis).
    public var range: ClosedRange<Double>?

    public init(label: String, format: AxisFormat = .number, scale: AxisScale = .linear, range: ClosedRange<Double>? = nil) {
        self.label = label
        self.format = format
        self.scale = scale
        self.range = range
    }
}

/// A named line of (x, y) points.
public struct LineSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Draw as a step function (horizontal, then vertical), as a miss-ratio curve is.
    public var step: Bool
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double)], step: Bool = false, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.step = step
        self.dashed = dashed
    }
}

/// A line chart with a title, two axes with nice ticks, grid lines and a legend.
public struct LineChart: Sendable {
    public var title: String
    public var x: ChartAxis
    public var y: ChartAxis
    public var series: [LineSeries]
    public var width: Double = 800
    public var height: Double = 480

    public init(title: String, x: ChartAxis, y: ChartAxis, series: [LineSeries]) {
        self.title = title
        self.x = x
        self.y = y
        self.series = series
    }

    /// The chart as a standalone SVG document.
    public func svg() -> String {
        // Many series get their legend beside the plot, where it hides no line.
        let longest = series.map(\.name.count).max() ?? 0
        let boxW = 40 + 7 * Double(longest), boxH = 8 + 18 * Double(series.count)
        let legendOutside = series.count > 4
        let width = legendOutside ? self.width + boxW + 16 : self.width
        let left = 78.0, right = legendOutside ? boxW + 32 : 24.0, top = 44.0, bottom = 58.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }.filter { x.scale == .linear || $0 > 0 }
        let ys = series.flatMap { $0.points.map(\.y) }.filter { y.scale == .linear || $0 > 0 }
        let xMap = AxisMapping(axis: x, data: xs, from: left, to: left + plotW)
        let yMap = AxisMapping(axis: y, data: ys, from: top + plotH, to: top)

        var out = SVGWriter(width: width, height: height)
        out.text(width / 2, 26, title, attributes: #"text-anchor="middle" font-size="16" font-weight="bold""#)
        // Grid and ticks.
        out.open("g", "class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\"")
        for t in xMap.ticks { out.line(xMap.map(t), top, xMap.map(t), top + plotH) }
        for t in yMap.ticks { out.line(left, yMap.map(t), left + plotW, yMap.map(t)) }
        out.close("g")
        out.open("g", "class=\"axes\" stroke=\"#333\" stroke-width=\"1\"")
        out.line(left, top + plotH, left + plotW, top + plotH)
        out.line(left, top, left, top + plotH)
        for t in xMap.ticks { out.line(xMap.map(t), top + plotH, xMap.map(t), top + plotH + 5) }
        for t in yMap.ticks { out.line(left - 5, yMap.map(t), left, yMap.map(t)) }
        out.close("g")
        out.open("g", "class=\"tick-labels\" fill=\"#333\"")
        for t in xMap.ticks {
            out.text(xMap.map(t), top + plotH + 19, x.format.format(t), attributes: #"text-anchor="middle""#)
        }
        for t in yMap.ticks {
            out.text(left - 8, yMap.map(t) + 4, y.format.format(t), attributes: #"text-anchor="end""#)
        }
        out.close("g")
        out.text(left + plotW / 2, height - 12, x.label, attributes: #"text-anchor="middle" font-size="13""#)
        let yl = SVGFormat.fixed(16, decimals: 2), ym = SVGFormat.fixed(top + plotH / 2, decimals: 2)
        out.text(16, top + plotH / 2, y.label, attributes: #"text-anchor="middle" font-size="13" transform="rotate(-90 \#(yl) \#(ym))""#)

        // Series, clipped to the plot area by dropping what a log axis cannot show.
        out.open("g", #"class="series" fill="none" stroke-width="2" stroke-linejoin="round""#)
        for (i, s) in series.enumerated() {
            var coords: [(Double, Double)] = []
            for p in s.points where (x.scale == .linear || p.x > 0) && (y.scale == .linear || p.y > 0) {
                let px = xMap.map(p.x), py = yMap.map(p.y)
                if s.step, let last = coords.last { coords.append((px, last.1)) }
                coords.append((px, py))
            }
            let pts = coords.map { "\(SVGFormat.fixed($0.0, decimals: 2)),\(SVGFormat.fixed($0.1, decimals: 2))" }.joined(separator: " ")
            let dash = s.dashed || SVGPalette.secondCycle(i) ? #" stroke-dasharray="6 4""# : ""
            out.raw("<polyline stroke=\"\(SVGPalette.color(i))\"\(dash) points=\"\(pts)\"><title>\(SVGFormat.escape(s.name))</title></polyline>")
            // A few measured points (a replay at five sizes) are marked, so it is clear where data is.
            if !s.step && s.points.count <= 30 {
                for c in coords {
                    out.raw("<circle cx=\"\(SVGFormat.fixed(c.0, decimals: 2))\" cy=\"\(SVGFormat.fixed(c.1, decimals: 2))\" r=\"2.5\" fill=\"\(SVGPalette.color(i))\"/>")
                }
            }
        }
        out.close("g")

        // Legend: top right inside the plot, or beside it for many series.
        if !series.isEmpty {
            let bx = legendOutside ? left + plotW + 16 : left + plotW - boxW - 8, by = top + 8
            out.open("g", #"class="legend""#)
            out.raw("<rect x=\"\(SVGFormat.fixed(bx, decimals: 2))\" y=\"\(SVGFormat.fixed(by, decimals: 2))\" width=\"\(SVGFormat.fixed(boxW, decimals: 2))\" height=\"\(SVGFormat.fixed(boxH, decimals: 2))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>")
            for (i, s) in series.enumerated() {
                let ly = by + 13 + 18 * Double(i)
                let dash = s.dashed || SVGPalette.secondCycle(i) ? #" stroke-dasharray="6 4""# : ""
                out.raw("<line x1=\"\(SVGFormat.fixed(bx + 6, decimals: 2))\" y1=\"\(SVGFormat.fixed(ly - 4, decimals: 2))\" x2=\"\(SVGFormat.fixed(bx + 28, decimals: 2))\" y2=\"\(SVGFormat.fixed(ly - 4, decimals: 2))\" stroke=\"\(SVGPalette.color(i))\" stroke-width=\"2\"\(dash)/>")
                out.text(bx + 34, ly, s.name, attributes: "")
            }
            out.close("g")
        }
        return out.finish()
    }
}

/// A grid of values drawn as coloured cells, with axis labels and a colour bar.
///
/// `values[row][column]`; row 0 is drawn at the bottom, like a chart's y axis. NaN
/// cells are left blank. Equal neighbouring colours in a row share one rectangle,
/// which keeps large, sparse grids small.
public struct Heatmap: Sendable {
    /// How an axis of the grid is labelled.
    public enum Labels: Sendable {
        /// One label per column (or row), thinned out when there are too many.
        case names([String])
        /// The grid spans this data range; ticks are nice values in it.
        case range(ClosedRange<Double>, AxisFormat)
        /// Labels at given positions, in cells from the axis origin (e.g. where
        /// each address region of a compressed axis starts).
        case ticks([Tick])
    }

    /// A label at a position along an axis, in cells from its origin.
    public struct Tick: Sendable, Equatable {
        public var position: Double
        public var label: String
        public init(position: Double, label: String) {
            self.position = position
            self.label = label
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Title of the colour bar, e.g. "accesses".
    public var valueLabel: String
    public var values: [[Double]]
    public var xLabels: Labels
    public var yLabels: Labels
    public var valueFormat: AxisFormat = .number
    /// Colour the logarithm of the values (for skewed counts); values ≤ 0 get the low end.
    public var logColor = false
    /// Value range of the colour scale; nil fits the data.
    public var valueRange: ClosedRange<Double>?
    public var width: Double = 800
    public var height: Double = 520

    public init(title: String, xLabel: String, yLabel: String, valueLabel: String, values: [[Double]],
                xLabels: Labels, yLabels: Labels) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.valueLabel = valueLabel
        self.values = values
        self.xLabels = xLabels
        self.yLabels = yLabels
    }

    /// The heatmap as a standalone SVG document.
    public func svg() -> String {
        let left = 84.0, right = 110.0, top = 44.0, bottom = 58.0
        let plotW = width - left - right, plotH = height - top - bottom
        let rows = values.count, cols = values.map(\.count).max() ?? 0
        var out = SVGWriter(width: width, height: height)
        out.text(width / 2, 26, title, attributes: #"text-anchor="middle" font-size="16" font-weight="bold""#)

        let finite = values.joined().filter { $0.isFinite }
        var lo = valueRange?.lowerBound ?? finite.min() ?? 0
        var hi = valueRange?.upperBound ?? finite.max() ?? 1
        if logColor {
            lo = Swift.max(lo, finite.filter { $0 > 0 }.min() ?? 1)
            hi = Swift.max(hi, lo)
        }
        func level(_ v: Double) -> Int {
            var t: Double
            if logColor {
                t = v <= 0 ? 0 : (hi > lo ? (log10(Swift.max(v, lo)) - log10(lo)) / (log10(hi) - log10(lo)) : 1)
            } else {
                t = hi > lo ? (v - lo) / (hi - lo) : 0.5
            }
            t = Swift.min(1, Swift.max(0, t))
            return Int((t * 255).rounded())
        }

        out.raw("<rect x=\"\(SVGFormat.fixed(left, decimals: 2))\" y=\"\(SVGFormat.fixed(top, decimals: 2))\" width=\"\(SVGFormat.fixed(plotW, decimals: 2))\" height=\"\(SVGFormat.fixed(plotH, decimals: 2))\" fill=\"#f4f4f4\"/>")
        if rows > 0 && cols > 0 {
            let cw = plotW / Double(cols), ch = plotH / Double(rows)
            out.open("g", #"class="cells" shape-rendering="crispEdges""#)
            for r in 0..<rows {
                let row = values[r]
                let y = top + plotH - Double(r + 1) * ch
                var c = 0
                while c < row.count {
                    guard row[c].isFinite else { c += 1; continue }
                    let l = level(row[c])
                    var end = c + 1
                    while end < row.count, row[end].isFinite, level(row[end]) == l { end += 1 }
                    out.raw("<rect x=\"\(SVGFormat.fixed(left + Double(c) * cw, decimals: 2))\" y=\"\(SVGFormat.fixed(y, decimals: 2))\" width=\"\(SVGFormat.fixed(Double(end - c) * cw, decimals: 2))\" height=\"\(SVGFormat.fixed(ch, decimals: 2))\" fill=\"\(SVGPalette.viridis(Double(l) / 255))\"/>")
                    c = end
                }
            }
            out.close("g")
        }
        out.raw("<rect x=\"\(SVGFormat.fixed(left, decimals: 2))\" y=\"\(SVGFormat.fixed(top, decimals: 2))\" width=\"\(SVGFormat.fixed(plotW, decimals: 2))\" height=\"\(SVGFormat.fixed(plotH, decimals: 2))\" fill=\"none\" stroke=\"#333\"/>")

        // Axis ticks: positions in cell units along each axis.
        out.open("g", "class=\"tick-labels\" fill=\"#333\"")
        for (pos, label) in Self.ticks(xLabels, count: cols) {
            let px = left + pos / Double(Swift.max(cols, 1)) * plotW
            out.line(px, top + plotH, px, top + plotH + 5, stroke: "#333")
            out.text(px, top + plotH + 19, label, attributes: #"text-anchor="middle""#)
        }
        for (pos, label) in Self.ticks(yLabels, count: rows) {
            let py = top + plotH - pos / Double(Swift.max(rows, 1)) * plotH
            out.line(left - 5, py, left, py, stroke: "#333")
            out.text(left - 8, py + 4, label, attributes: #"text-anchor="end""#)
        }
        out.close("g")
        out.text(left + plotW / 2, height - 12, xLabel, attributes: #"text-anchor="middle" font-size="13""#)
        let yl = SVGFormat.fixed(16, decimals: 2), ym = SVGFormat.fixed(top + plotH / 2, decimals: 2)
        out.text(16, top + plotH / 2, yLabel, attributes: #"text-anchor="middle" font-size="13" transform="rotate(-90 \#(yl) \#(ym))""#)

        // Colour bar.
        let bx = left + plotW + 24, bw = 16.0, steps = 64
        out.open("g", #"class="colorbar" shape-rendering="crispEdges""#)
        for i in 0..<steps {
            let y0 = top + plotH - Double(i + 1) * plotH / Double(steps)
            out.raw("<rect x=\"\(SVGFormat.fixed(bx, decimals: 2))\" y=\"\(SVGFormat.fixed(y0, decimals: 2))\" width=\"\(SVGFormat.fixed(bw, decimals: 2))\" height=\"\(SVGFormat.fixed(plotH / Double(steps) + 0.5, decimals: 2))\" fill=\"\(SVGPalette.viridis((Double(i) + 0.5) / Double(steps)))\"/>")
        }
        out.close("g")
        let barAxis = ChartAxis(label: valueLabel, format: valueFormat, scale: logColor ? .log : .linear, range: lo...Swift.max(hi, lo))
        let barMap = AxisMapping(axis: barAxis, data: [lo, hi], from: top + plotH, to: top, widen: false)
        out.open("g", "class=\"colorbar-labels\" fill=\"#333\"")
        for t in barMap.ticks {
            out.line(bx + bw, barMap.map(t), bx + bw + 4, barMap.map(t), stroke: "#333")
            out.text(bx + bw + 7, barMap.map(t) + 4, valueFormat.format(t), attributes: "")
        }
        out.close("g")
        out.text(bx, top - 8, valueLabel, attributes: #"font-size="12""#)
        return out.finish()
    }

    /// Tick positions (in cells from the axis origin) and labels.
    static func ticks(_ labels: Labels, count: Int) -> [(Double, String)] {
        switch labels {
        case .names(let names):
            guard !names.isEmpty else { return [] }
            let stride = Swift.max(1, (names.count + 11) / 12)
            return Swift.stride(from: 0, to: names.count, by: stride).map { (Double($0) + 0.5, names[$0]) }
        case .range(let r, let format):
            guard r.upperBound > r.lowerBound else { return [(0, format.format(r.lowerBound))] }
            let ticks = format == .bytes ? Ticks.bytes(r.lowerBound, r.upperBound) : Ticks.linear(r.lowerBound, r.upperBound)
            return ticks.filter { r.contains($0) }.map {
                (($0 - r.lowerBound) / (r.upperBound - r.lowerBound) * Double(count), format.format($0))
            }
        case .ticks(let ticks):
            return ticks.map { ($0.position, $0.label) }
        }
    }
}

/// Maps data values to pixels along one axis, with its ticks.
struct AxisMapping {
    let ticks: [Double]
    let lo: Double, hi: Double
    let from: Double, to: Double
    let log: Bool

    init(axis: ChartAxis, data: [Double], from: Double, to: Double, widen: Bool = true) {
        self.from = from
        self.to = to
        self.log = axis.scale == .log
        var lo = axis.range?.lowerBound ?? data.min() ?? (log ? 1 : 0)
        var hi = axis.range?.upperBound ?? data.max() ?? (log ? 10 : 1)
        if log {
            lo = Swift.max(lo, Double.leastNormalMagnitude)
            if hi <= lo { hi = lo * 10 }
            ticks = axis.format == .bytes ? Ticks.logBytes(lo, hi) : Ticks.log(lo, hi)
        } else {
            if hi <= lo { hi = lo + 1 }
            var t = axis.format == .bytes ? Ticks.bytes(lo, hi) : Ticks.linear(lo, hi)
            if widen && axis.range == nil, let first = t.first, let last = t.last {
                // Extend to the enclosing nice ticks.
                let step = t.count > 1 ? t[1] - t[0] : 1
                if first > lo { t.insert(first - step, at: 0) }
                if last < hi { t.append(last + step) }
                lo = t.first!
                hi = t.last!
            } else {
                t = t.filter { $0 >= lo - 1e-9 * (hi - lo) && $0 <= hi + 1e-9 * (hi - lo) }
            }
            ticks = t
        }
        self.lo = lo
        self.hi = hi
    }

    func map(_ v: Double) -> Double {
        let t: Double
        if log {
            t = (log10(Swift.max(v, lo)) - log10(lo)) / (log10(hi) - log10(lo))
        } else {
            t = (v - lo) / (hi - lo)
        }
        return from + (to - from) * t
    }
}

/// Tick placement.
public enum Ticks {
    /// Nice linear ticks (1, 2, 5 × 10^k steps) covering `[lo, hi]`, about `target` of them.
    public static func linear(_ lo: Double, _ hi: Double, target: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let step = niceStep((hi - lo) / Double(Swift.max(1, target - 1)))
        return steps(lo, hi, step)
    }

    /// Linear ticks for byte values: power-of-two steps, so labels read 256 MiB, 512 MiB, ...
    public static func bytes(_ lo: Double, _ hi: Double, target: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(Swift.max(1, target - 1))
        guard raw >= 1 else { return linear(lo, hi, target: target) }
        var step = 1.0
        while step < raw { step *= 2 }
        // Prefer the smaller power of two when it is closer to the target count.
        if (hi - lo) / (step / 2) <= Double(target) * 1.5 { step /= 2 }
        return steps(lo, hi, Swift.max(step, 1))
    }

    /// Powers of ten in `[lo, hi]`, with 2× and 5× in between when the range is short.
    public static func log(_ lo: Double, _ hi: Double) -> [Double] {
        guard hi > lo, lo > 0 else { return [lo] }
        let a = Int(floor(log10(lo))), b = Int(ceil(log10(hi)))
        var out: [Double] = []
        let mantissas: [Double] = log10(hi / lo) <= 2 ? [1, 2, 5] : [1]
        let stride = Swift.max(1, (b - a + 7) / 8)
        for e in a...b where (e - a) % stride == 0 {
            for m in mantissas {
                let v = m * pow10(e)
                if v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12) { out.append(v) }
            }
        }
        return out
    }

    /// Powers of two in `[lo, hi]`, every k-th so there are at most about 9.
    public static func logBytes(_ lo: Double, _ hi: Double) -> [Double] {
        guard hi > lo, lo > 0 else { return [lo] }
        let a = Int(ceil(log2(lo) - 1e-9)), b = Int(floor(log2(hi) + 1e-9))
        guard b >= a else { return log(lo, hi) }
        var stride = 1
        while (b - a) / stride > 8 { stride += 1 }
        // Align to multiples of the stride so labels land on round units.
        let start = Int((Double(a) / Double(stride)).rounded(.up)) * stride
        return Swift.stride(from: start, through: b, by: stride).map { exp2(Double($0)) }
    }

    static func niceStep(_ raw: Double) -> Double {
        let e = floor(log10(raw))
        let f = raw / pow10(Int(e))
        let m: Double = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
        return m * pow10(Int(e))
    }

    static func steps(_ lo: Double, _ hi: Double, _ step: Double) -> [Double] {
        let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
        guard last >= first else { return [lo] }
        // Multiply integers by the step (no accumulated error), then round away the
        // binary noise (3 × 0.2 = 0.6000000000000001) at one digit below the step's.
        let digits = Swift.max(0, 1 - Int(floor(log10(step))))
        let scale = pow(10, Double(digits))
        return Swift.stride(from: first, through: last, by: 1).map { ($0 * step * scale).rounded() / scale + 0 }
    }

    static func pow10(_ e: Int) -> Double { pow(10, Double(e)) }
}

/// Text formatting for labels, without Foundation.
public enum SVGFormat {
    /// `x` with at most `decimals` decimals, trailing zeros dropped: `fixed(1.50, 2)` = "1.5".
    public static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "NaN" : (x < 0 ? "-inf" : "inf") }
        let scale = pow(10, Double(decimals))
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e18 else { return (x < 0 ? "-" : "") + String(Int64(abs(x).rounded())) }
        let n = Int64(scaled), p = Int64(scale)
        var s = (x < 0 && n != 0 ? "-" : "") + String(n / p)
        if decimals > 0 {
            var frac = String(n % p)
            frac = String(repeating: "0", count: decimals - frac.count) + frac
            while frac.last == "0" { frac.removeLast() }
            if !frac.isEmpty { s += "." + frac }
        }
        return s
    }

    /// Bytes in the largest binary unit not above them, up to 2 decimals: "1.5 GiB".
    public static func bytes(_ x: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = abs(x), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        // 1023.999 MiB would print as "1024 MiB"; carry it to the next unit.
        if fixed(v, decimals: 2) == "1024", i < units.count - 1 { v /= 1024; i += 1 }
        return (x < 0 ? "-" : "") + fixed(v, decimals: i == 0 ? 0 : 2) + " " + units[i]
    }

    /// Numbers with k/M/G/T suffixes from 1000 up: "950", "1.5k", "20M".
    public static func number(_ x: Double) -> String {
        let units = ["", "k", "M", "G", "T", "P"]
        var v = abs(x), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        if fixed(v, decimals: 2) == "1000", i < units.count - 1 { v /= 1000; i += 1 }
        let digits = i == 0 && v < 1 ? 4 : 2
        return (x < 0 ? "-" : "") + fixed(v, decimals: digits) + units[i]
    }

    /// Escapes text for XML content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters outright.
                if c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}

/// Colours.
public enum SVGPalette {
    static let series = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    /// The i-th series colour (Tableau 10, repeating).
    public static func color(_ i: Int) -> String { series[i % series.count] }
    /// Series past the palette's length repeat its colours dashed, so no two look alike.
    public static func secondCycle(_ i: Int) -> Bool { (i / series.count) % 2 == 1 }

    static let viridisStops: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 36, 117), (65, 68, 135), (53, 95, 141), (42, 120, 142), (33, 145, 140),
        (34, 168, 132), (68, 191, 112), (122, 209, 81), (189, 223, 38), (253, 231, 37),
    ]

    /// Viridis at `t` in [0, 1] (perceptually uniform, readable in grey and by most colour-blind readers).
    public static func viridis(_ t: Double) -> String {
        let x = Swift.min(1, Swift.max(0, t.isFinite ? t : 0)) * Double(viridisStops.count - 1)
        let i = Swift.min(Int(x), viridisStops.count - 2)
        let f = x - Double(i)
        let a = viridisStops[i], b = viridisStops[i + 1]
        return hex(a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }

    static func hex(_ r: Double, _ g: Double, _ b: Double) -> String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] {
            let n = Swift.min(255, Swift.max(0, Int(v.rounded())))
            s.append(digits[n >> 4])
            s.append(digits[n & 15])
        }
        return s
    }
}

/// Builds an SVG document line by line.
struct SVGWriter {
    private var lines: [String] = []

    init(width: Double, height: Double) {
        let w = SVGFormat.fixed(width, decimals: 2), h = SVGFormat.fixed(height, decimals: 2)
        lines.append(#"<?xml version="1.0" encoding="UTF-8"?>"#)
        lines.append(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(w)" height="\#(h)" viewBox="0 0 \#(w) \#(h)" font-family="Helvetica, Arial, sans-serif" font-size="12">"#)
        lines.append(#"<rect width="100%" height="100%" fill="white"/>"#)
    }

    mutating func raw(_ s: String) { lines.append(s) }
    mutating func open(_ tag: String, _ attributes: String) { lines.append("<\(tag) \(attributes)>") }
    mutating func close(_ tag: String) { lines.append("</\(tag)>") }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String? = nil) {
        let s = stroke.map { " stroke=\"\($0)\"" } ?? ""
        lines.append("<line x1=\"\(SVGFormat.fixed(x1, decimals: 2))\" y1=\"\(SVGFormat.fixed(y1, decimals: 2))\" x2=\"\(SVGFormat.fixed(x2, decimals: 2))\" y2=\"\(SVGFormat.fixed(y2, decimals: 2))\"\(s)/>")
    }

    /// A text element; `attributes` is trusted markup, `content` is escaped.
    mutating func text(_ x: Double, _ y: Double, _ content: String, attributes: String) {
        let a = attributes.isEmpty ? "" : " " + attributes
        lines.append("<text x=\"\(SVGFormat.fixed(x, decimals: 2))\" y=\"\(SVGFormat.fixed(y, decimals: 2))\"\(a)>\(SVGFormat.escape(content))</text>")
    }

    func finish() -> String { (lines + ["</svg>", ""]).joined(separator: "\n") }
}
