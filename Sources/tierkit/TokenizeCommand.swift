import ArgumentParser
import Foundation
import TierInfer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn text into a GGUF model's token ids (a JSON array), or ids back into text.",
        discussion: """
            Uses the byte-level BPE vocabulary, merges and pre-tokenizer stored in the model file \
            and gives the same ids as llama.cpp. Special-token texts such as <|im_start|> become \
            their ids unless --no-special is given; no BOS is added unless --bos is.

            --chat wraps TEXT as a user message in the model's chat template (ChatML, with the \
            template's default system prompt unless --system gives one) and ends with the \
            assistant's opening, ready for generation.

            --decode takes ids as 1,2,3 or as a JSON array and prints the text.
            """
    )

    @Option(help: "The GGUF model file (default: $TIERKIT_MODEL).")
    var model: String?

    @Argument(help: "The text to tokenize.")
    var text: String?

    @Option(help: "Decode these ids (comma-separated or a JSON array) instead of tokenizing.")
    var decode: String?

    @Flag(help: "Apply the model's chat template to TEXT as a user message.")
    var chat = false

    @Option(help: "With --chat: the system message (default: the template's own).")
    var system: String?

    @Flag(help: "Prepend the BOS token.")
    var bos = false

    @Flag(name: .customLong("no-special"), help: "Treat special-token texts as plain text; with --decode, omit control tokens.")
    var noSpecial = false

    func validate() throws {
        if decode != nil && text != nil { throw ValidationError("give TEXT or --decode, not both") }
        if decode == nil && text == nil { throw ValidationError("give TEXT to tokenize, or --decode IDS") }
        if decode != nil && (chat || bos) { throw ValidationError("--chat and --bos apply to TEXT, not to --decode") }
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
    }

    func run() throws {
        guard let path = model ?? ProcessInfo.processInfo.environment["TIERKIT_MODEL"] else {
            throw ValidationError("give --model PATH (or set TIERKIT_MODEL); tools/fetch-model downloads the default model")
        }
        let (file, tokenizer) = try reportingGGUFErrors { () throws(GGUFError) in
            let file = try GGUFFile(path: path)
            return (file, try Tokenizer(gguf: file))
        }
        if let decode {
            let ids = try parseIDs(decode, tokenizer: tokenizer)
            print(tokenizer.decode(ids, includeSpecial: !noSpecial))
            return
        }
        var input = text ?? ""
        if chat {
            var template = try reportingGGUFErrors { () throws(GGUFError) in try ChatTemplate(gguf: file) }
            var messages = [ChatMessage.user(input)]
            if let system {
                messages.insert(.system(system), at: 0)
                template.defaultSystemPrompt = nil
            }
            input = template.render(messages)
        }
        let ids = tokenizer.encode(input, parseSpecial: !noSpecial, addBOS: bos)
        print("[" + ids.map { String($0) }.joined(separator: ", ") + "]")
    }

    /// "1,2,3", "1 2 3" or "[1, 2, 3]", each id checked against the vocabulary.
    private func parseIDs(_ text: String, tokenizer: Tokenizer) throws -> [TokenID] {
        var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if body.hasPrefix("[") && body.hasSuffix("]") { body = body.dropFirst().dropLast() }
        let parts = body.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\t" })
        return try parts.enumerated().map { (i, part) in
            guard let id = TokenID(part), tokenizer.isValid(id) else {
                FileHandle.standardError.write(Data("tierkit: --decode: item \(i + 1) \"\(part)\" is not a token id (0..<\(tokenizer.vocabularyCount))\n".utf8))
                throw ExitCode(1)
            }
            return id
        }
    }
}

/// Runs `body`; a GGUFError is printed as `tierkit: <file>: <where>: <what>` and exits 1.
func reportingGGUFErrors<T>(_ body: () throws(GGUFError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        FileHandle.standardError.write(Data("tierkit: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
