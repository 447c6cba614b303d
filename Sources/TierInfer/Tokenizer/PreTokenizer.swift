/// How text is cut into words before BPE, named after `tokenizer.ggml.pre`.
///
/// Both variants follow llama.cpp (`llama-vocab.cpp`, `unicode.cpp`): the GPT-2 pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, matched by hand
/// over Unicode scalars; `digitsThenGPT2` first cuts out every `\p{N}` scalar as a word of its
/// own and applies the GPT-2 pattern to the text between them (so no word spans a digit).
public enum PreTokenizer: Sendable, Equatable {
    case gpt2
    case digitsThenGPT2

    /// The variant llama.cpp uses for a `tokenizer.ggml.pre` value; nil when unsupported.
    public init?(name: String) {
        switch name {
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva":
            self = .digitsThenGPT2
        case "gpt2", "gpt-2", "mpt", "olmo", "jais", "trillion", "granite-docling":
            self = .gpt2
        default:
            return nil
        }
    }

    static let supportedNames = "smollm, starcoder, refact, command-r, codeshell, exaone, minerva, gpt2, mpt, olmo, jais, trillion, granite-docling"
}

/// The classes the pattern distinguishes.
enum ScalarClass: UInt8 {
    case other = 0
    case letter = 1
    case number = 2
    case whitespace = 3
    /// Past the end of the piece being split (llama.cpp's sentinel).
    case outside = 4

    static let ascii: [ScalarClass] = (0..<128).map { classify(UInt32($0)) }

    @inline(__always)
    static func of(_ value: UInt32) -> ScalarClass {
        value < 128 ? ascii[Int(value)] : classify(value)
    }

    static func classify(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let p = scalar.properties
        // White_Space is the set llama.cpp's `\s` uses (unicode_ranges_whitespace).
        if p.isWhitespace { return .whitespace }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}

/// Splits decoded scalars into words; reused across calls to avoid per-word allocation.
struct WordSplitter {
    var scalars: [UInt32] = []
    var classes: [ScalarClass] = []
    /// Byte offset of each scalar in the fragment, plus the fragment's length.
    var byteStarts: [Int] = []

    /// Decodes the UTF-8 of `bytes` (valid: it comes from a Swift String) into scalars and classes.
    mutating func load(_ bytes: UnsafeRawBufferPointer) {
        scalars.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        byteStarts.removeAll(keepingCapacity: true)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            var v: UInt32
            var len: Int
            if b0 < 0x80 {
                v = b0; len = 1
            } else if b0 < 0xE0 {
                v = b0 & 0x1F; len = 2
            } else if b0 < 0xF0 {
                v = b0 & 0x0F; len = 3
            } else {
                v = b0 & 0x07; len = 4
            }
            len = min(len, n - i)
            for k in 1..<max(len, 1) { v = v << 6 | (UInt32(bytes[i + k]) & 0x3F) }
            scalars.append(v)
            classes.append(ScalarClass.of(v))
            byteStarts.append(i)
            i += len
        }
        byteStarts.append(n)
    }

    /// Calls `word` with the scalar range of each word, in order.
    func split(_ mode: PreTokenizer, _ word: (Int, Int) -> Void) {
        let n = scalars.count
        switch mode {
        case .gpt2:
            gpt2(0, n, word)
        case .digitsThenGPT2:
            var start = 0
            for i in 0..<n where classes[i] == .number {
                if i > start { gpt2(start, i, word) }
                word(i, i + 1)
                start = i + 1
            }
            if start < n { gpt2(start, n, word) }
        }
    }

    /// The GPT-2 pattern over scalars `[ini, end)`, as llama.cpp's unicode_regex_split_custom_gpt2.
    private func gpt2(_ ini: Int, _ end: Int, _ word: (Int, Int) -> Void) {
        @inline(__always) func cls(_ p: Int) -> ScalarClass { p < end ? classes[p] : .outside }
        let apostrophe: UInt32 = 0x27, space: UInt32 = 0x20
        var pos = ini
        while pos < end {
            let c = scalars[pos]
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == apostrophe && pos + 1 < end {
                let n1 = scalars[pos + 1]
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {  // s t m d
                    word(pos, pos + 2); pos += 2; continue
                }
                if pos + 2 < end {
                    let n2 = scalars[pos + 2]
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {  // re ve ll
                        word(pos, pos + 3); pos += 3; continue
                    }
                }
            }
            let lead = c == space ? 1 : 0
            let c2 = c == space ? cls(pos + 1) : classes[pos]
            // ' ?\p{L}+' and ' ?\p{N}+'
            if c2 == .letter || c2 == .number {
                var p = pos + lead
                while cls(p) == c2 { p += 1 }
                word(pos, p); pos = p; continue
            }
            // ' ?[^\s\p{L}\p{N}]+'
            if c2 == .other {
                var p = pos + lead
                while cls(p) == .other { p += 1 }
                word(pos, p); pos = p; continue
            }
            var spaces = 0
            while cls(pos + spaces) == .whitespace { spaces += 1 }
            // '\s+(?!\S)': a run followed by more text gives up its last scalar to that text.
            if spaces > 1 && pos + spaces < end {
                word(pos, pos + spaces - 1); pos += spaces - 1; continue
            }
            // '\s+'
            if spaces > 0 {
                word(pos, pos + spaces); pos += spaces; continue
            }
            word(pos, pos + 1); pos += 1
        }
    }
}
