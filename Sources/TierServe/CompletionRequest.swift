import Foundation
import TierInfer

/// A request the server refuses, with the HTTP status, the field at fault (when one is) and a
/// message saying what was expected.
public struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var field: String?
    public var message: String

    public init(status: Int = 400, field: String? = nil, _ message: String) {
        self.status = status
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

/// What a completion request asks for, checked field by field.
public struct CompletionParameters: Sendable, Equatable {
    /// The prompt of `/v1/completions`: text or token ids.
    public enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens([Int32])
    }

    /// Which endpoint the request came to.
    public enum Kind: Sendable, Equatable {
        case completion(Prompt)
        case chat([ChatMessage])
    }

    public var kind: Kind
    /// Most tokens to generate; nil: up to the context limit.
    public var maxTokens: Int?
    public var temperature: Float = 1
    public var topP: Float = 1
    /// `top_k` (an extension, as llama.cpp's server has it; 0: all tokens).
    public var topK: Int = 0
    /// nil: a random seed.
    public var seed: UInt64?
    /// Generation ends before the first occurrence of any of these texts.
    public var stop: [String] = []
    public var stream = false
    /// `stream_options.include_usage`: a last chunk carries the token counts.
    public var streamUsage = false
    /// `return_tokens` (an extension): choices carry the generated token ids.
    public var returnTokens = false

    /// Largest `max_tokens` accepted before the context check (which is the server's).
    static let maxTokensLimit = 1 << 20

    /// Parses and checks the JSON body of a `/v1/completions` (`chat: false`) or
    /// `/v1/chat/completions` request.
    public static func parse(_ body: [UInt8], chat: Bool) throws(RequestError) -> CompletionParameters {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch let error as DecodingError {
            throw RequestError("request body is not valid JSON: \(describe(error))")
        } catch {
            throw RequestError("request body is not valid JSON: \(error)")
        }
        guard case .object(let o) = value else {
            throw RequestError("request body must be a JSON object, found \(value.typeName)")
        }
        var p: CompletionParameters
        if chat {
            p = CompletionParameters(kind: .chat(try messages(o["messages"])))
        } else {
            p = CompletionParameters(kind: .completion(try prompt(o["prompt"])))
        }
        p.maxTokens = chat ? nil : 16
        for key in ["max_tokens", "max_completion_tokens"] {
            if let v = try integer(o, key, in: 1...maxTokensLimit) { p.maxTokens = v }
        }
        if let t = try number(o, "temperature", in: 0...2) { p.temperature = Float(t) }
        if let t = try number(o, "top_p", in: 0...1) {
            guard t > 0 else { throw RequestError(field: "top_p", "field 'top_p' must be above 0 and at most 1, got \(t)") }
            p.topP = Float(t)
        }
        if let k = try integer(o, "top_k", in: 0...Int(Int32.max)) { p.topK = k }
        if let s = o["seed"], s != .null {
            guard case .integer(let i) = s else { throw RequestError(field: "seed", "field 'seed' must be an integer, found \(s.typeName)") }
            p.seed = UInt64(bitPattern: i)
        }
        if let n = try integer(o, "n", in: 1...Int.max), n != 1 {
            throw RequestError(field: "n", "field 'n' must be 1: one choice per request is supported")
        }
        p.stop = try stops(o["stop"])
        p.stream = try bool(o, "stream") ?? false
        if let options = o["stream_options"], options != .null {
            guard case .object(let so) = options else {
                throw RequestError(field: "stream_options", "field 'stream_options' must be an object, found \(options.typeName)")
            }
            p.streamUsage = try bool(so, "include_usage", prefix: "stream_options.") ?? false
        }
        p.returnTokens = try bool(o, "return_tokens") ?? false
        return p
    }

    /// The sampling part.
    public func sampling(defaultSeed: UInt64) -> SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed ?? defaultSeed)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c):
            if let underlying = c.underlyingError { return "\(underlying)" }
            return c.debugDescription
        default:
            return "\(error)"
        }
    }

    private static func prompt(_ v: JSONValue?) throws(RequestError) -> Prompt {
        let what = "field 'prompt' must be a string, an array of one string, or an array of token ids"
        switch v {
        case nil, .null?:
            throw RequestError(field: "prompt", "field 'prompt' is required")
        case .string(let s)?:
            return .text(s)
        case .array(let items)?:
            if items.count == 1, case .string(let s) = items[0] { return .text(s) }
            var ids: [Int32] = []
            for (i, item) in items.enumerated() {
                guard case .integer(let id) = item, let t = Int32(exactly: id) else {
                    throw RequestError(field: "prompt", "\(what); element \(i) is \(item.typeName)")
                }
                ids.append(t)
            }
            guard !ids.isEmpty else { throw RequestError(field: "prompt", "\(what); found an empty array") }
            return .tokens(ids)
        case let other?:
            throw RequestError(field: "prompt", "\(what), found \(other.typeName)")
        }
    }

    private static func messages(_ v: JSONValue?) throws(RequestError) -> [ChatMessage] {
        guard let v, v != .null else { throw RequestError(field: "messages", "field 'messages' is required") }
        guard case .array(let items) = v, !items.isEmpty else {
            throw RequestError(field: "messages", "field 'messages' must be a non-empty array of {role, content} objects")
        }
        var out: [ChatMessage] = []
        for (i, item) in items.enumerated() {
            let at = "messages[\(i)]"
            guard case .object(let m) = item else {
                throw RequestError(field: at, "field '\(at)' must be an object with 'role' and 'content', found \(item.typeName)")
            }
            guard case .string(let role)? = m["role"], ["system", "user", "assistant", "developer", "tool"].contains(role) else {
                throw RequestError(field: "\(at).role", "field '\(at).role' must be one of system, user, assistant, developer, tool")
            }
            let content: String
            switch m["content"] {
            case .string(let s)?:
                content = s
            case .array(let parts)?:
                // The structured form: [{"type": "text", "text": "..."}, ...]; only text parts.
                var text = ""
                for (j, part) in parts.enumerated() {
                    guard case .object(let po) = part, po["type"] == .string("text"), case .string(let t)? = po["text"] else {
                        throw RequestError(field: "\(at).content[\(j)]",
                                           "field '\(at).content[\(j)]' must be {\"type\": \"text\", \"text\": STRING}")
                    }
                    text += t
                }
                content = text
            default:
                throw RequestError(field: "\(at).content", "field '\(at).content' must be a string or an array of text parts")
            }
            out.append(ChatMessage(role: role == "developer" ? "system" : role, content: content))
        }
        return out
    }

    private static func stops(_ v: JSONValue?) throws(RequestError) -> [String] {
        let what = "field 'stop' must be a string or an array of up to 4 non-empty strings"
        switch v {
        case nil, .null?:
            return []
        case .string(let s)?:
            guard !s.isEmpty else { throw RequestError(field: "stop", "\(what), found an empty string") }
            return [s]
        case .array(let items)?:
            guard items.count <= 4 else { throw RequestError(field: "stop", "\(what), found \(items.count)") }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item, !s.isEmpty else { throw RequestError(field: "stop", "\(what), found \(item.typeName)") }
                out.append(s)
            }
            return out
        case let other?:
            throw RequestError(field: "stop", "\(what), found \(other.typeName)")
        }
    }

    private static func integer(_ o: [String: JSONValue], _ key: String, in range: ClosedRange<Int>) throws(RequestError) -> Int? {
        guard let v = o[key], v != .null else { return nil }
        guard case .integer(let i) = v, let n = Int(exactly: i) else {
            throw RequestError(field: key, "field '\(key)' must be an integer, found \(v.typeName)")
        }
        guard range.contains(n) else {
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw RequestError(field: key, "field '\(key)' must be \(bound), got \(n)")
        }
        return n
    }

    private static func number(_ o: [String: JSONValue], _ key: String, in range: ClosedRange<Double>) throws(RequestError) -> Double? {
        guard let v = o[key], v != .null else { return nil }
        guard let d = v.doubleValue else {
            throw RequestError(field: key, "field '\(key)' must be a number, found \(v.typeName)")
        }
        guard range.contains(d) else {
            throw RequestError(field: key, "field '\(key)' must be in \(range.lowerBound)...\(range.upperBound), got \(d)")
        }
        return d
    }

    private static func bool(_ o: [String: JSONValue], _ key: String, prefix: String = "") throws(RequestError) -> Bool? {
        guard let v = o[key], v != .null else { return nil }
        guard case .bool(let b) = v else {
            throw RequestError(field: prefix + key, "field '\(prefix + key)' must be true or false, found \(v.typeName)")
        }
        return b
    }
}
