import TierCore

/// Renders ``TraceStats`` as text or JSON.
enum TraceInfoFormat {
    static func text(_ spec: TraceSpec, _ s: TraceStats) -> String {
        var rows: [(String, String)] = [
            ("trace", "\(spec.path) (\(spec.format.rawValue))"),
            ("requests", grouped(s.requests)),
            ("unique objects", grouped(s.uniqueObjects)),
            ("total bytes", "\(grouped(s.totalBytes)) (\(bytes(s.totalBytes)))"),
            ("working set", "\(grouped(s.workingSetBytes)) (\(bytes(s.workingSetBytes)), first-seen sizes)"),
            ("request sizes", "min \(s.minSize), p50 \(s.p50Size), p90 \(s.p90Size), p99 \(s.p99Size), max \(s.maxSize), mean \(fixed(s.meanSize, 1))"),
            ("time", "\(s.minTime) ... \(s.maxTime) (span \(s.timeSpan))"),
            ("next access", s.hasNextAccess ? "present" : "absent"),
        ]
        if s.skipped > 0 { rows.append(("skipped", "\(grouped(s.skipped)) zero-size records")) }
        if let o = s.objects {
            let share = s.uniqueObjects == 0 ? 0 : 100 * Double(o.oneHitWonders) / Double(s.uniqueObjects)
            rows.append(("one-hit wonders", "\(grouped(o.oneHitWonders)) (\(fixed(share, 1))% of objects)"))
            rows.append(("requests/object", "p50 \(o.p50Requests), p90 \(o.p90Requests), p99 \(o.p99Requests), max \(o.maxRequests), mean \(fixed(s.uniqueObjects == 0 ? 0 : Double(s.requests) / Double(s.uniqueObjects), 2))"))
            rows.append(("object sizes", "p50 \(o.p50Size), p90 \(o.p90Size), p99 \(o.p99Size)"))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }.joined(separator: "\n")
    }

    static func json(_ spec: TraceSpec, _ s: TraceStats) -> String {
        var fields: [(String, String)] = [
            ("trace", quoted(spec.path)),
            ("format", quoted(spec.format.rawValue)),
            ("requests", "\(s.requests)"),
            ("unique_objects", "\(s.uniqueObjects)"),
            ("total_bytes", "\(s.totalBytes)"),
            ("working_set_bytes", "\(s.workingSetBytes)"),
            ("size_min", "\(s.minSize)"),
            ("size_p50", "\(s.p50Size)"),
            ("size_p90", "\(s.p90Size)"),
            ("size_p99", "\(s.p99Size)"),
            ("size_max", "\(s.maxSize)"),
            ("size_mean", "\(s.meanSize)"),
            ("time_min", "\(s.minTime)"),
            ("time_max", "\(s.maxTime)"),
            ("time_span", "\(s.timeSpan)"),
            ("has_next_access", "\(s.hasNextAccess)"),
            ("skipped_zero_size", "\(s.skipped)"),
        ]
        if let o = s.objects {
            fields += [
                ("one_hit_wonders", "\(o.oneHitWonders)"),
                ("requests_per_object_p50", "\(o.p50Requests)"),
                ("requests_per_object_p90", "\(o.p90Requests)"),
                ("requests_per_object_p99", "\(o.p99Requests)"),
                ("requests_per_object_max", "\(o.maxRequests)"),
                ("object_size_p50", "\(o.p50Size)"),
                ("object_size_p90", "\(o.p90Size)"),
                ("object_size_p99", "\(o.p99Size)"),
            ]
        }
        return "{" + fields.map { "\(quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func grouped(_ v: Int64) -> String {
        let digits = String(v.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return v < 0 ? "-" + out : out
    }

    static func bytes(_ v: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var x = Double(v), u = 0
        while x >= 1024 && u < units.count - 1 { x /= 1024; u += 1 }
        return u == 0 ? "\(v) B" : "\(fixed(x, 2)) \(units[u])"
    }

    static func fixed(_ x: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let r = (x * scale).rounded() / scale
        var s = "\(r)"
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < places { s += String(repeating: "0", count: places - decimals) }
        }
        return s
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 32 { out += "\\u00" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
