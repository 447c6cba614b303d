/// A token id, as in llama.cpp (`llama_token`).
public typealias TokenID = Int32

/// The kind of a vocabulary entry (`tokenizer.ggml.token_type`, llama.cpp's `llama_token_type`).
public enum TokenType: Int32, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}

/// GPT-2 style byte-level BPE, built from a GGUF file's tokenizer metadata, giving the same ids
/// as llama.cpp.
///
/// Encoding: special tokens are cut out of the text first (longest first; control tokens only when
/// `parseSpecial`), the rest is split into words by the model's `PreTokenizer`, and each word's
/// UTF-8 bytes are merged pairwise, lowest merge rank first (leftmost on ties), starting from one
/// symbol per byte. Decoding maps each token's byte-level text back to bytes.
public final class Tokenizer: Sendable {
    /// Number of vocabulary entries.
    public let vocabularyCount: Int
    /// How words are found.
    public let preTokenizer: PreTokenizer
    /// Beginning-of-sequence token, when the vocabulary names one.
    public let bosID: TokenID?
    /// End-of-sequence token, when the vocabulary names one.
    public let eosID: TokenID?
    /// Whether `encode` prepends BOS unless told otherwise (`tokenizer.ggml.add_bos_token`).
    public let addsBOS: Bool
    /// Tokens after which generation stops: EOS, EOT and the usual end-of-turn texts.
    public let endOfGenerationIDs: Set<TokenID>

    /// Vocabulary texts (ids below `vocabularyCount`), then strings that only merges produce.
    private let strings: ByteStringTable
    private let types: [TokenType]
    private let merges: MergeTable
    /// The symbol id of each byte (its one-scalar byte-level text).
    private let byteSymbols: [TokenID]
    /// The vocabulary id of each one-byte text, -1 when none: the fallback for merge results
    /// that are not in the vocabulary.
    private let singleByteTokens: [TokenID]
    /// Decoded bytes of each vocabulary entry (empty for byte/unused entries).
    private let pieces: [UInt8]
    private let pieceStarts: [Int32]
    /// Special tokens matched in raw text, longest first.
    private let specials: [(id: TokenID, bytes: [UInt8], control: Bool)]

    /// Builds the tokenizer from `tokenizer.ggml.*` metadata. Throws a located error for a
    /// vocabulary that is missing, inconsistent, or of a kind not supported here (only `gpt2` BPE).
    public init(gguf f: GGUFFile) throws(GGUFError) {
        let model = try f.requireString("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw GGUFError(path: f.path, location: .key("tokenizer.ggml.model"),
                            message: "unsupported tokenizer \"\(model)\", expected \"gpt2\" (byte-level BPE)")
        }
        let preName = try f.string("tokenizer.ggml.pre") ?? "default"
        guard let pre = PreTokenizer(name: preName) else {
            throw GGUFError(path: f.path, location: .key("tokenizer.ggml.pre"),
                            message: "unsupported pre-tokenizer \"\(preName)\", expected one of \(PreTokenizer.supportedNames)")
        }
        preTokenizer = pre

        let tokens = try f.requireArray("tokenizer.ggml.tokens", of: .string)
        let n = tokens.count
        guard n > 0, n < Int(Int32.max) / 2 else {
            throw GGUFError(path: f.path, location: .key("tokenizer.ggml.tokens"), message: "expected a non-empty vocabulary, found \(n) entries")
        }
        vocabularyCount = n

        var types = [TokenType](repeating: .normal, count: n)
        if let typeArray = try f.array("tokenizer.ggml.token_type") {
            guard typeArray.count == n, let values = typeArray.integers() else {
                throw GGUFError(path: f.path, location: .key("tokenizer.ggml.token_type"),
                                message: "expected \(n) integers (one per token), found \(typeArray.count) \(typeArray.elementType) values")
            }
            for i in 0..<n { types[i] = Int32(exactly: values[i]).flatMap { TokenType(rawValue: $0) } ?? .undefined }
        }

        var table = ByteStringTable(expectedCount: n + n / 4)
        tokens.forEachStringBytes { (i, bytes) in
            if bytes.isEmpty {
                // llama.cpp names empty entries so that they stay distinct and unmatchable.
                _ = Array("[EMPTY_\(i)]".utf8).withUnsafeBytes { table.append($0, replace: true) }
            } else {
                table.append(bytes, replace: true)
            }
        }

        func tokenID(_ key: String) throws(GGUFError) -> TokenID? {
            guard let id = try f.int(key) else { return nil }
            guard id >= 0 && id < n else {
                throw GGUFError(path: f.path, location: .key(key), message: "token id \(id) out of range, expected 0..<\(n)")
            }
            return TokenID(id)
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id")
        let eos = try tokenID("tokenizer.ggml.eos_token_id")
        let eot = try tokenID("tokenizer.ggml.eot_token_id")
        bosID = bos
        eosID = eos
        addsBOS = try f.bool("tokenizer.ggml.add_bos_token") ?? false

        var byteSymbols = [TokenID](repeating: 0, count: 256)
        for b in 0..<256 { byteSymbols[b] = table.intern(ByteLevel.encodedUTF8(of: UInt8(b))) }
        self.byteSymbols = byteSymbols

        let mergeArray = try f.requireArray("tokenizer.ggml.merges", of: .string)
        var merges = MergeTable(expectedCount: mergeArray.count)
        var joined: [UInt8] = []
        mergeArray.forEachStringBytes { (rank, bytes) in
            // "left right": split at the first space after the first byte, as llama.cpp does.
            guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20) else { return }
            let left = table.intern(UnsafeRawBufferPointer(rebasing: bytes[..<space]))
            let right = table.intern(UnsafeRawBufferPointer(rebasing: bytes[(space + 1)...]))
            joined.removeAll(keepingCapacity: true)
            joined.append(contentsOf: bytes[..<space])
            joined.append(contentsOf: bytes[(space + 1)...])
            let result = table.intern(joined)
            merges.insert(left: left, right: right, rank: Int32(rank), result: result)
        }
        self.merges = merges

        var singles = [TokenID](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = table.find([UInt8(b)]), id < n { singles[b] = id }
        }
        singleByteTokens = singles

        // Decoded bytes of each entry: byte-level text mapped back to bytes for normal tokens,
        // the text itself for control and user-defined ones.
        var pieces: [UInt8] = []
        var pieceStarts: [Int32] = [0]
        pieces.reserveCapacity(table.arena.count)
        pieceStarts.reserveCapacity(n + 1)
        for id in 0..<n {
            let text = table.bytes(TokenID(id))
            switch types[id] {
            case .normal:
                for scalar in String(decoding: text, as: UTF8.self).unicodeScalars {
                    let v = Int(scalar.value)
                    if v < ByteLevel.byteForScalar.count, ByteLevel.byteForScalar[v] >= 0 {
                        pieces.append(UInt8(ByteLevel.byteForScalar[v]))
                    } else {
                        // Not a byte-level scalar: keep it as UTF-8 rather than lose it.
                        pieces.append(contentsOf: String(scalar).utf8)
                    }
                }
            case .control, .userDefined, .unknown:
                pieces.append(contentsOf: text)
            case .byte, .unused, .undefined:
                break
            }
            pieceStarts.append(Int32(pieces.count))
        }
        self.pieces = pieces
        self.pieceStarts = pieceStarts

        var specials: [(id: TokenID, bytes: [UInt8], control: Bool)] = []
        for id in 0..<n where types[id] == .control || types[id] == .userDefined || types[id] == .unknown {
            let text = Array(table.bytes(TokenID(id)))
            if !text.isEmpty { specials.append((TokenID(id), text, types[id] != .userDefined)) }
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        self.specials = specials

        var eog = Set<TokenID>()
        if let eos { eog.insert(eos) }
        if let eot { eog.insert(eot) }
        for text in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|eom_id|>", "<EOT>"] {
            if let id = table.find(Array(text.utf8)), id < n { eog.insert(id) }
        }
        endOfGenerationIDs = eog

        self.types = types
        self.strings = table
    }

    // MARK: Vocabulary

    /// Whether `id` names a vocabulary entry.
    public func isValid(_ id: TokenID) -> Bool { id >= 0 && Int(id) < vocabularyCount }

    /// The entry's kind.
    public func type(of id: TokenID) -> TokenType { types[Int(id)] }

    /// The entry's text as stored in the vocabulary (byte-level: a space shows as "Ġ").
    public func text(of id: TokenID) -> String { String(decoding: strings.bytes(id), as: UTF8.self) }

    /// The id of the entry whose stored text is `text`, if any.
    public func id(ofText text: String) -> TokenID? {
        guard let id = strings.find(Array(text.utf8)), Int(id) < vocabularyCount else { return nil }
        return id
    }

    /// Whether generation ends at `id`.
    public func isEndOfGeneration(_ id: TokenID) -> Bool { endOfGenerationIDs.contains(id) }

    // MARK: Encoding

    /// The ids of `text`. Special-token texts such as `<|im_start|>` become their ids when
    /// `parseSpecial`; BOS is prepended when `addBOS` (default: the model's setting, off here).
    public func encode(_ text: String, parseSpecial: Bool = true, addBOS: Bool? = nil) -> [TokenID] {
        var out: [TokenID] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        if addBOS ?? addsBOS, let bosID { out.append(bosID) }
        var text = text
        text.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            var splitter = WordSplitter()
            var scratch = BPEScratch()
            for fragment in partition(bytes, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    out.append(id)
                case .text(let range):
                    encodeText(UnsafeRawBufferPointer(rebasing: bytes[range]), splitter: &splitter, scratch: &scratch, into: &out)
                }
            }
        }
        return out
    }

    private enum Fragment {
        case text(Range<Int>)
        case token(TokenID)
    }

    /// Cuts special tokens out of the text: each special, longest first, splits every remaining
    /// text fragment at its occurrences, left to right (llama.cpp's tokenizer_st_partition).
    private func partition(_ bytes: UnsafeRawBufferPointer, parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        var next: [Fragment] = []
        for special in specials where parseSpecial || !special.control {
            let needle = special.bytes
            let first = needle[0]
            var changed = false
            next.removeAll(keepingCapacity: true)
            for fragment in fragments {
                guard case .text(let range) = fragment else { next.append(fragment); continue }
                var start = range.lowerBound
                var i = range.lowerBound
                let limit = range.upperBound - needle.count
                while i <= limit {
                    if bytes[i] == first && matches(bytes, at: i, needle) {
                        if i > start { next.append(.text(start..<i)) }
                        next.append(.token(special.id))
                        i += needle.count
                        start = i
                        changed = true
                    } else {
                        i += 1
                    }
                }
                if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
            }
            if changed { swap(&fragments, &next) }
        }
        return fragments
    }

    private func matches(_ bytes: UnsafeRawBufferPointer, at i: Int, _ needle: [UInt8]) -> Bool {
        for k in 1..<needle.count where bytes[i + k] != needle[k] { return false }
        return true
    }

    /// Scratch space reused across the words of one `encode` call.
    private struct BPEScratch {
        var symbols: [TokenID] = []
        var prev: [Int32] = []
        var next: [Int32] = []
        var heap = MergeHeap()
    }

    private func encodeText(_ bytes: UnsafeRawBufferPointer, splitter: inout WordSplitter, scratch: inout BPEScratch, into out: inout [TokenID]) {
        splitter.load(bytes)
        let starts = splitter.byteStarts
        splitter.split(preTokenizer) { a, b in
            let word = UnsafeRawBufferPointer(rebasing: bytes[starts[a]..<starts[b]])
            bpe(word, scratch: &scratch, into: &out)
        }
    }

    /// Merges one word's bytes and appends the resulting tokens.
    private func bpe(_ word: UnsafeRawBufferPointer, scratch s: inout BPEScratch, into out: inout [TokenID]) {
        let n = word.count
        if n == 1 {
            emit(byteSymbols[Int(word[0])], into: &out)
            return
        }
        s.symbols.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        for i in 0..<n {
            s.symbols.append(byteSymbols[Int(word[i])])
            s.prev.append(Int32(i - 1))
            s.next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        s.heap.removeAll()
        for i in 1..<n { addPair(Int32(i - 1), Int32(i), &s) }
        while let m = s.heap.popMin() {
            let l = Int(m.left), r = Int(m.right)
            // Stale entries: a side was merged away, or changed, since the pair was queued.
            guard s.symbols[l] == m.leftSymbol, s.symbols[r] == m.rightSymbol else { continue }
            s.symbols[l] = m.result
            s.symbols[r] = -1
            let after = s.next[r]
            s.next[l] = after
            if after >= 0 { s.prev[Int(after)] = m.left }
            if s.prev[l] >= 0 { addPair(s.prev[l], m.left, &s) }
            if after >= 0 { addPair(m.left, after, &s) }
        }
        var i: Int32 = 0
        while i >= 0 {
            emit(s.symbols[Int(i)], into: &out)
            i = s.next[Int(i)]
        }
    }

    @inline(__always)
    private func addPair(_ left: Int32, _ right: Int32, _ s: inout BPEScratch) {
        let ls = s.symbols[Int(left)], rs = s.symbols[Int(right)]
        guard let (rank, result) = merges.lookup(ls, rs) else { return }
        s.heap.push(MergeHeap.Entry(rank: rank, left: left, right: right, leftSymbol: ls, rightSymbol: rs, result: result))
    }

    /// Appends a merged symbol: its id when it is in the vocabulary, else the one-byte tokens of
    /// its text (what llama.cpp does for merge results missing from the vocabulary).
    @inline(__always)
    private func emit(_ symbol: TokenID, into out: inout [TokenID]) {
        if Int(symbol) < vocabularyCount {
            out.append(symbol)
            return
        }
        for b in strings.bytes(symbol) where singleByteTokens[Int(b)] >= 0 {
            out.append(singleByteTokens[Int(b)])
        }
    }

    // MARK: Decoding

    /// Appends the bytes `id` stands for. Control tokens give their text only when
    /// `includeSpecial`; invalid ids give nothing.
    public func appendBytes(of id: TokenID, to out: inout [UInt8], includeSpecial: Bool = true) {
        guard isValid(id) else { return }
        if !includeSpecial && (types[Int(id)] == .control || types[Int(id)] == .unknown) { return }
        out.append(contentsOf: pieces[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
    }

    /// The text of `ids`: their bytes joined, then read as UTF-8 (a sequence cut inside a
    /// character shows U+FFFD there).
    public func decode<C: Sequence>(_ ids: C, includeSpecial: Bool = true) -> String where C.Element == TokenID {
        var bytes: [UInt8] = []
        for id in ids { appendBytes(of: id, to: &bytes, includeSpecial: includeSpecial) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A binary min-heap of candidate merges ordered by rank, then by left position.
struct MergeHeap {
    struct Entry {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftSymbol: TokenID
        var rightSymbol: TokenID
        var result: TokenID

        @inline(__always)
        func precedes(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : left < o.left }
    }

    private var items: [Entry] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func popMin() -> Entry? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && items[l].precedes(items[m]) { m = l }
            if r < n && items[r].precedes(items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
