import TierCore

/// Renders ``PageTraceStats`` as text or JSON.
enum PageTraceInfoFormat {
    static func targets(_ h: PageTraceHeader) -> [String] {
        h.targets.map { t in
            switch t {
            case .pid(let p): return "pid \(p)"
            case .cgroup(let c): return "cgroup \(c)"
            case .command(let c): return "command \(c)"
            }
        }
    }

    static func seconds(_ ns: UInt64) -> String { TraceInfoFormat.fixed(Double(ns) / 1e9, 3) + " s" }

    static func text(path: String, _ s: PageTraceStats) -> String {
        let h = s.header
        var rows: [(String, String)] = [
            ("trace", "\(path) (tkt version \(h.version), \(h.mode.rawValue))"),
            ("kernel", h.kernelRelease.isEmpty ? "-" : h.kernelRelease),
            ("page size", "\(h.pageSize)"),
            ("targets", targets(h).isEmpty ? "-" : targets(h).joined(separator: "; ")),
            ("sources", h.sources.isEmpty ? "-" : h.sources.joined(separator: ", ")),
            ("start", "realtime \(h.startRealtimeNs) ns, monotonic \(h.startMonotonicNs) ns"),
        ]
        for e in h.extra { rows.append((e.key, e.value)) }
        rows += [
            ("records", TraceInfoFormat.grouped(s.records)),
            ("events", TraceInfoFormat.grouped(s.events) + (h.mode == .aggregated ? " (sum of counts)" : "")),
        ]
        for k in PageEventKind.allCases where s.recordsByKind[Int(k.rawValue)] > 0 {
            let r = s.recordsByKind[Int(k.rawValue)], e = s.eventsByKind[Int(k.rawValue)]
            rows.append(("  " + k.name, TraceInfoFormat.grouped(e) + (e != r ? " (\(TraceInfoFormat.grouped(r)) records)" : "")))
        }
        rows += [
            ("access events", TraceInfoFormat.grouped(s.accessEvents)),
            ("distinct pages", "\(TraceInfoFormat.grouped(s.distinctPages)) (\(TraceInfoFormat.bytes(s.distinctPages * Int64(h.pageSize))))"),
            ("accessed pages", "\(TraceInfoFormat.grouped(s.distinctAccessedPages)) (\(TraceInfoFormat.bytes(s.distinctAccessedPages * Int64(h.pageSize))))"),
            ("pids", "\(s.pids.count)" + (s.pids.isEmpty ? "" : ": " + s.pids.prefix(8).map { "\($0.pid) (\(TraceInfoFormat.grouped($0.records)))" }.joined(separator: ", ") + (s.pids.count > 8 ? ", ..." : ""))),
            ("time", "\(s.minTime) ... \(s.maxTime) ns (duration \(seconds(s.duration)))"),
        ]
        if s.outOfOrderRecords > 0 { rows.append(("out of order", "\(TraceInfoFormat.grouped(s.outOfOrderRecords)) records earlier than the one before")) }
        if let t = s.tornTail { rows.append(("torn tail", "\(t.length) bytes at offset \(t.offset) (ignored)")) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }.joined(separator: "\n")
    }

    static func json(path: String, _ s: PageTraceStats) -> String {
        let q = TraceInfoFormat.quoted
        let h = s.header
        let kinds = PageEventKind.allCases.map { k in
            "\(q(k.name)): {\"records\": \(s.recordsByKind[Int(k.rawValue)]), \"events\": \(s.eventsByKind[Int(k.rawValue)])}"
        }.joined(separator: ", ")
        var fields: [(String, String)] = [
            ("trace", q(path)),
            ("format", q("tkt")),
            ("version", "\(h.version)"),
            ("mode", q(h.mode.rawValue)),
            ("kernel_release", q(h.kernelRelease)),
            ("page_size", "\(h.pageSize)"),
            ("targets", "[" + targets(h).map(q).joined(separator: ", ") + "]"),
            ("sources", "[" + h.sources.map(q).joined(separator: ", ") + "]"),
            ("start_realtime_ns", "\(h.startRealtimeNs)"),
            ("start_monotonic_ns", "\(h.startMonotonicNs)"),
            ("extra", "{" + h.extra.map { "\(q($0.key)): \(q($0.value))" }.joined(separator: ", ") + "}"),
            ("records", "\(s.records)"),
            ("events", "\(s.events)"),
            ("by_kind", "{" + kinds + "}"),
            ("access_events", "\(s.accessEvents)"),
            ("distinct_pages", "\(s.distinctPages)"),
            ("distinct_accessed_pages", "\(s.distinctAccessedPages)"),
            ("pids", "[" + s.pids.map { "{\"pid\": \($0.pid), \"records\": \($0.records)}" }.joined(separator: ", ") + "]"),
            ("time_min_ns", "\(s.minTime)"),
            ("time_max_ns", "\(s.maxTime)"),
            ("duration_ns", "\(s.duration)"),
            ("out_of_order_records", "\(s.outOfOrderRecords)"),
        ]
        if let t = s.tornTail {
            fields.append(("torn_tail", "{\"offset\": \(t.offset), \"length\": \(t.length), \"record\": \(t.recordIndex)}"))
        } else {
            fields.append(("torn_tail", "null"))
        }
        return "{" + fields.map { "\(q($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
