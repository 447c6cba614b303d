/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// The ChatML prompt format (`<|im_start|>role\ncontent<|im_end|>\n` per message), as a model's
/// `tokenizer.chat_template` states it.
///
/// The Jinja template itself is not run: it is recognised as ChatML, and the default system
/// prompt it inserts when the conversation does not start with one is read out of it.
public struct ChatTemplate: Sendable, Equatable {
    /// The system message used when the first message is not a system one; nil for none.
    public var defaultSystemPrompt: String?

    public init(defaultSystemPrompt: String? = nil) {
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// Reads the template of `gguf`. Throws a located error when there is none or it is not ChatML.
    public init(gguf: GGUFFile) throws(GGUFError) {
        let key = "tokenizer.chat_template"
        let template = try gguf.requireString(key)
        guard template.contains("<|im_start|>"), template.contains("<|im_end|>") else {
            throw GGUFError(path: gguf.path, location: .key(key),
                            message: "unsupported chat template: only ChatML (<|im_start|>role ... <|im_end|>) is supported")
        }
        self.defaultSystemPrompt = Self.defaultSystem(in: template)
    }

    /// The literal system turn of `{% if loop.first and messages[0]['role'] != 'system' %}{{ '...' }}`.
    static func defaultSystem(in template: String) -> String? {
        let t = Array(template.utf8)
        guard let condition = find("!= 'system'", in: t, from: 0) ?? find("!= \"system\"", in: t, from: 0),
              let start = find("<|im_start|>system\n", in: t, from: condition.upperBound),
              let end = find("<|im_end|>", in: t, from: start.upperBound)
        else { return nil }
        // Only when the literal belongs to that condition's block, not to a later one.
        if let endif = find("{% endif %}", in: t, from: condition.upperBound), endif.lowerBound < end.upperBound {
            return nil
        }
        return String(decoding: t[start.upperBound..<end.lowerBound], as: UTF8.self)
    }

    /// The byte range of the first `needle` in `bytes` at or after `from`.
    private static func find(_ needle: String, in bytes: [UInt8], from: Int) -> Range<Int>? {
        let n = Array(needle.utf8)
        guard !n.isEmpty, bytes.count >= n.count, from <= bytes.count - n.count else { return nil }
        for i in from...(bytes.count - n.count) where bytes[i] == n[0] && bytes[i..<(i + n.count)].elementsEqual(n) {
            return i..<(i + n.count)
        }
        return nil
    }

    /// The prompt text for `messages`, ending with the assistant's opening when `addGenerationPrompt`.
    /// Encode it with special tokens parsed.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var out = ""
        if let system = defaultSystemPrompt, let first = messages.first, first.role != "system" {
            out += "<|im_start|>system\n\(system)<|im_end|>\n"
        }
        for m in messages {
            out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}
