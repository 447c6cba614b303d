import TierInfer

/// Turns generated tokens into response text as they arrive: holds back an incomplete UTF-8
/// character and any tail that could begin a stop string, and cuts the text before the first
/// stop string. The pieces it returns join to exactly the whole response's text.
struct TextAssembler {
    let tokenizer: Tokenizer
    private let stops: [[UInt8]]
    private var bytes: [UInt8] = []
    private var released = 0
    /// True once a stop string was found; nothing more is released.
    private(set) var stopped = false

    init(tokenizer: Tokenizer, stops: [String]) {
        self.tokenizer = tokenizer
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    /// Adds a generated token; returns the text that can be sent now (possibly empty).
    mutating func append(_ token: Int32) -> String {
        guard !stopped else { return "" }
        tokenizer.appendBytes(of: token, to: &bytes, includeSpecial: false)
        if let match = firstStop() {
            stopped = true
            return release(upTo: match)
        }
        return release(upTo: completeCharacters(upTo: firstPossibleStop()))
    }

    /// The rest of the text, once generation has ended.
    mutating func finish() -> String {
        guard !stopped else { return "" }
        return release(upTo: bytes.count)
    }

    private mutating func release(upTo end: Int) -> String {
        guard end > released else { return "" }
        let text = String(decoding: bytes[released..<end], as: UTF8.self)
        released = end
        return text
    }

    /// Start of the earliest complete stop string at or after `released`.
    private func firstStop() -> Int? {
        guard !stops.isEmpty else { return nil }
        var i = released
        while i < bytes.count {
            for s in stops where i + s.count <= bytes.count && bytes[i..<(i + s.count)].elementsEqual(s) { return i }
            i += 1
        }
        return nil
    }

    /// Start of the earliest tail of the text that is the beginning of a stop string.
    private func firstPossibleStop() -> Int {
        guard !stops.isEmpty else { return bytes.count }
        var i = released
        while i < bytes.count {
            let tail = bytes[i...]
            for s in stops where s.count > tail.count && s.starts(with: tail) { return i }
            i += 1
        }
        return bytes.count
    }

    /// `end`, moved back to the start of a UTF-8 sequence the bytes before it do not complete.
    private func completeCharacters(upTo end: Int) -> Int {
        var i = end
        var continuation = 0
        while i > released && continuation < 3 && bytes[i - 1] & 0xC0 == 0x80 {
            i -= 1
            continuation += 1
        }
        guard i > released else { return end }
        let lead = bytes[i - 1]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return length > continuation + 1 ? i - 1 : end
    }
}
