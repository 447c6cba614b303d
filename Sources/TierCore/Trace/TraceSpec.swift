/// The trace formats TierKit reads.
public enum TraceFormat: String, Sendable, CaseIterable {
    /// libCacheSim's oracleGeneral binary.
    case oracleGeneral = "oracleGeneral"
    /// Comma-separated values with named or numbered columns.
    case csv
    /// Plain text, one object id per line.
    case text = "txt"
    /// TierKit's page traces (`.tkt`): access events become page requests.
    case tkt

    /// Reads a format name as given on a command line (case-insensitive;
    /// `oracleGeneral`/`bin`, `csv`, `txt`/`text`).
    public init?(name: String) {
        switch name.lowercased() {
        case "oraclegeneral", "oracle", "bin", "oraclegeneralbin": self = .oracleGeneral
        case "csv", "tsv": self = .csv
        case "txt", "text", "plain": self = .text
        case "tkt", "pagetrace": self = .tkt
        default: return nil
        }
    }

    /// Guesses the format where that is safe, else refuses with the reason.
    ///
    /// `.oracleGeneral`/`.bin` files whose size is a multiple of 24 bytes are
    /// oracleGeneral, `.csv`/`.tsv` are CSV, `.txt` is one id per line, `.tkt` and
    /// any file starting with the magic "TKT1" is a page trace. Any other
    /// name is sniffed from its first 64 KiB: printable text whose first line has a
    /// comma or tab is CSV, printable text with one token per line is plain text;
    /// binary data or anything else is refused (pass the format explicitly).
    public static func detect(path: String) throws(TraceError) -> TraceFormat {
        let input = try ByteInput(path: path, bufferSize: 1 << 16)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let lower = name.lowercased()
        let ext = lower.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        if ext == "tkt" { return .tkt }
        if ext == "zst" || ext == "gz" || ext == "xz" {
            throw TraceError(path: path, location: .file, message: "compressed traces are not read directly; decompress it first (e.g. zstd -d)")
        }
        if ext == "oraclegeneral" || ext == "bin" || lower.hasSuffix("oraclegeneralbin") {
            guard let size = input.fileSize else {
                throw TraceError(path: path, location: .file, message: "not a regular file; pass --format")
            }
            if size % Int64(OracleGeneralReader.recordSize) != 0 {
                throw TraceError(path: path, location: .file, message: "named like an oracleGeneral trace but its \(size) bytes are not a whole number of 24-byte records (\(size / 24) records and \(size % 24) extra bytes); if it is another binary format, convert it first")
            }
            return .oracleGeneral
        }
        if ext == "csv" || ext == "tsv" { return .csv }
        if ext == "txt" { return .text }

        let sample = try input.take(1 << 16)
        if sample.isEmpty {
            throw TraceError(path: path, location: .file, message: "empty file with an unknown extension; pass --format")
        }
        if sample.count >= 4 && sample.prefix(4).elementsEqual(PageTraceFormat.magic) { return .tkt }
        var printable = true
        for b in sample where b < 32 && b != 9 && b != 10 && b != 13 || b == 127 {
            printable = false
            break
        }
        guard printable else {
            let hint = (input.fileSize ?? 1) % 24 == 0 ? " (its size is a multiple of 24 bytes, so it may be oracleGeneral: name it *.oracleGeneral.bin or pass --format oracleGeneral)" : ""
            throw TraceError(path: path, location: .file, message: "cannot tell the format: the file is binary and its name does not end in .oracleGeneral or .bin\(hint)")
        }
        var firstLineEnd = 0
        while firstLineEnd < sample.count && sample[firstLineEnd] != 10 { firstLineEnd += 1 }
        let first = UnsafeRawBufferPointer(rebasing: sample[0..<firstLineEnd])
        if first.contains(44) || first.contains(9) { return .csv }
        // One token per line (no inner blanks) reads as plain text.
        var inToken = false, tokens = 0
        for b in sample {
            if b == 10 {
                inToken = false
                tokens = 0
            } else if b == 32 || b == 13 {
                inToken = false
            } else if !inToken {
                inToken = true
                tokens += 1
                if tokens > 1 {
                    throw TraceError(path: path, location: .file, message: "cannot tell the format: text without commas but with several fields per line; pass --format csv with --csv-options delimiter=... or --format txt")
                }
            }
        }
        return .text
    }
}

/// Something that consumes a request stream of any concrete source type.
/// ``TraceSpec/visit(_:)`` opens the trace and calls `visit` with the concrete
/// reader, so the visitor's loop is specialised per format.
public protocol RequestSourceVisitor {
    associatedtype Output
    mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> Output
}

/// A trace file, its format and how to read it.
public struct TraceSpec: Sendable {
    public var path: String
    public var format: TraceFormat
    /// Every size reads as 1 (libCacheSim's `ignore_obj_size`).
    public var objectMode: Bool
    /// Column mapping for CSV traces; `idMode` also applies to plain text.
    public var csv: CSVOptions
    /// How page traces' events become requests.
    public var page: PageRequestOptions

    public init(path: String, format: TraceFormat, objectMode: Bool = false, csv: CSVOptions = CSVOptions(),
                page: PageRequestOptions = PageRequestOptions()) {
        self.path = path
        self.format = format
        self.objectMode = objectMode
        self.csv = csv
        self.page = page
    }

    /// A spec whose format is `format` or, when nil, detected with ``TraceFormat/detect(path:)``.
    public static func open(path: String, format: TraceFormat? = nil, objectMode: Bool = false,
                            csv: CSVOptions = CSVOptions(), page: PageRequestOptions = PageRequestOptions()) throws(TraceError) -> TraceSpec {
        let f: TraceFormat
        if let format { f = format } else { f = try TraceFormat.detect(path: path) }
        return TraceSpec(path: path, format: f, objectMode: objectMode, csv: csv, page: page)
    }

    /// Opens the trace and hands the concrete reader to `visitor`.
    @inlinable
    public func visit<V: RequestSourceVisitor>(_ visitor: inout V) throws(TraceError) -> V.Output {
        switch format {
        case .oracleGeneral:
            var source = try OracleGeneralReader(path: path, objectMode: objectMode)
            return try visitor.visit(&source)
        case .csv:
            var source = try CSVReader(path: path, options: csv, objectMode: objectMode)
            return try visitor.visit(&source)
        case .text:
            var source = try TextReader(path: path, idMode: csv.idMode)
            return try visitor.visit(&source)
        case .tkt:
            var source = try PageRequestSource(path: path, options: page, objectMode: objectMode)
            return try visitor.visit(&source)
        }
    }
}
