import Foundation
import Testing
import TierCore
import TierInfer

struct TokenizerTests {
    @Test("every case of the llama.cpp tokenizer golden gives exactly its ids, and decodes back")
    func goldenCases() throws {
        guard let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("tokenizer golden") }
        guard let golden = Goldens.load("smollm2-135m-tokenizer.golden.json") as? [String: Any],
              let cases = golden["cases"] as? [[String: Any]] else {
            Issue.record("smollm2-135m-tokenizer.golden.json not found beside the checkout (../shared/models) or in TIERKIT_GOLDEN_DIR")
            return
        }
        #expect(cases.count == 34)
        for c in cases {
            let text = c["text"] as! String
            let expected = (c["ids"] as! [Int]).map { TokenID($0) }
            let ids = tok.encode(text)
            #expect(ids == expected, "\(text.debugDescription)")
            #expect(tok.decode(ids) == text, "\(text.debugDescription)")
        }
    }

    @Test("the prompt ids and greedy continuations of the llama.cpp generation golden")
    func generationGolden() throws {
        guard let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("tokenizer generation golden") }
        guard let golden = Goldens.load("smollm2-135m-q4_1.golden.json") as? [String: Any] else {
            Issue.record("smollm2-135m-q4_1.golden.json not found beside the checkout (../shared/models) or in TIERKIT_GOLDEN_DIR")
            return
        }
        var prompts = 0
        for (prompt, value) in golden {
            guard let entry = value as? [String: Any], let ids = entry["prompt_tokens"] as? [Int] else { continue }
            prompts += 1
            #expect(tok.encode(prompt) == ids.map { TokenID($0) }, "\(prompt)")
            let greedy = (entry["greedy_tokens"] as! [Int]).map { TokenID($0) }
            #expect(tok.decode(greedy) == entry["text"] as? String, "\(prompt)")
        }
        #expect(prompts == 2)
        #expect(tok.encode("Once upon a time") == [6403, 1980, 253, 655])
        #expect(tok.encode("The capital of France is") == [504, 3575, 282, 4649, 314])
    }

    @Test("vocabulary facts: size, BOS/EOS, end-of-generation tokens, byte-level texts")
    func vocabulary() throws {
        guard let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("tokenizer vocabulary") }
        #expect(tok.vocabularyCount == 49152)
        #expect(tok.preTokenizer == .digitsThenGPT2)
        #expect(tok.bosID == 1 && tok.eosID == 2 && !tok.addsBOS)
        #expect(tok.endOfGenerationIDs == [0, 2])
        #expect(tok.text(of: 1) == "<|im_start|>" && tok.type(of: 1) == .control)
        #expect(tok.text(of: 216) == "Ġ" && tok.type(of: 216) == .normal)
        #expect(tok.text(of: 19556) == "Hello" && tok.text(of: 38699) == "ĠHello")
        #expect(tok.id(ofText: "ĠHello") == 38699 && tok.id(ofText: "no such token") == nil)
        #expect(tok.decode([38699, 2260, 17]) == " Hello World!")
        #expect(!tok.isValid(49152) && !tok.isValid(-1) && tok.isValid(49151))
        #expect(tok.decode([-1, 49152, 19556]) == "Hello")
    }

    @Test("special tokens are parsed in text, optionally; BOS on request; control tokens hidden on request")
    func specialTokens() throws {
        guard let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("tokenizer special tokens") }
        let text = "<|im_start|>user\nHi<|im_end|>\n"
        let ids = tok.encode(text)
        #expect(ids.first == 1)
        #expect(ids.filter { $0 == 2 }.count == 1)
        #expect(Array(ids[1...]) == tok.encode("user\nHi") + [2] + tok.encode("\n"))
        #expect(tok.decode(ids) == text)
        #expect(tok.decode(ids, includeSpecial: false) == "user\nHi\n")
        let plain = tok.encode(text, parseSpecial: false)
        #expect(!plain.contains(1) && !plain.contains(2))
        #expect(tok.decode(plain) == text)
        #expect(tok.encode("Hello", addBOS: true) == [1, 19556])
        // Adjacent and nested-looking specials: the longest text wins, left to right.
        #expect(tok.encode("<|im_end|><|im_end|><|endoftext|>") == [2, 2, 0])
        #expect(tok.encode("<|im_start|") == tok.encode("<|im_start|", parseSpecial: false))
        #expect(tok.encode("") == [])
    }

    @Test("decode(encode(text)) == text for code, scripts, emoji, digits and whitespace runs")
    func roundTrips() throws {
        guard let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("tokenizer round trips") }
        let texts = [
            "func f(x: Int) -> Int {\n\treturn x * 2 // doubled\n}\n",
            "I can't, you won't, they'LL, we'd've; O'Neil's 'quoted'",
            "日本語のテキスト、中文文本。한국어 텍스트!",
            "Ünïcödé façade — naïve café, Ångström, ǅ ǈ ǋ",
            "emoji 👩‍👩‍👧‍👦 🇫🇷 ❤️ 🫠 and combining e\u{301} a\u{308}\u{304}",
            "3.14159 1,000,000 ١٢٣ ⅫⅦ ½¾ 10^9",
            "  leading and trailing  \n\n\n  \r\n\r\n\t\t \u{00A0}\u{2003}x\u{3000}",
            String(repeating: "ab", count: 500) + String(repeating: " ", count: 300) + String(repeating: "!", count: 200),
            "\u{0}\u{1}\u{7F}\u{80}\u{AD}\u{FFFD}\u{10FFFF}",
        ]
        for text in texts {
            let ids = tok.encode(text)
            #expect(!ids.isEmpty)
            #expect(tok.decode(ids) == text, "\(text.debugDescription)")
            #expect(ids.allSatisfy { tok.isValid($0) })
        }
        // Digits are always single tokens in this pre-tokenizer.
        #expect(tok.encode("2024") == [34, 32, 34, 36])
    }

    @Test("seeded random strings over ASCII, Latin, CJK, emoji, marks and special texts round-trip")
    func randomRoundTrips() throws {
        guard let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("tokenizer random round trips") }
        var rng = Xoshiro256StarStar(seed: 49152)
        let pools: [ClosedRange<UInt32>] = [0x20...0x7E, 0x09...0x0D, 0xA0...0x17F, 0x300...0x36F, 0x400...0x4FF,
                                            0x3040...0x30FF, 0x4E00...0x4F00, 0x1F300...0x1F64F, 0x2000...0x206F]
        let specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start", "'s", "'ll", "12345"]
        for _ in 0..<300 {
            var text = ""
            for _ in 0..<Int(rng.next(below: 40)) {
                if rng.next(below: 10) == 0 {
                    text += specials[Int(rng.next(below: UInt64(specials.count)))]
                    continue
                }
                let pool = pools[Int(rng.next(below: UInt64(pools.count)))]
                let v = pool.lowerBound + UInt32(rng.next(below: UInt64(pool.count)))
                if let s = Unicode.Scalar(v) { text.unicodeScalars.append(s) }
            }
            let ids = tok.encode(text)
            #expect(tok.decode(ids) == text, "\(text.debugDescription)")
            let plain = tok.encode(text, parseSpecial: false)
            #expect(tok.decode(plain) == text, "\(text.debugDescription)")
            #expect(!plain.contains { tok.type(of: $0) == .control })
        }
    }

    @Test("the model's chat template: ChatML with its default system prompt")
    func chatTemplate() throws {
        guard let file = try ModelFixture.file(), let tok = try ModelFixture.tokenizer() else { return ModelFixture.skip("chat template") }
        let template = try ChatTemplate(gguf: file)
        #expect(template.defaultSystemPrompt == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        let prompt = template.render([.user("What is the capital of France?")])
        #expect(prompt == """
            <|im_start|>system
            You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
            <|im_start|>user
            What is the capital of France?<|im_end|>
            <|im_start|>assistant

            """)
        #expect(template.render([.system("Be brief."), .user("Hi")], addGenerationPrompt: false)
            == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        #expect(ChatTemplate().render([.user("Hi")]) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        let ids = tok.encode(prompt)
        #expect(ids.filter { $0 == 1 }.count == 3)
        #expect(ids.filter { $0 == 2 }.count == 2)
        let opening = tok.encode("<|im_start|>assistant\n")
        #expect(Array(ids.suffix(opening.count)) == opening)
        #expect(tok.decode(ids) == prompt)
    }
}
