import Foundation
import Testing
import TierInfer
import TierKV
import TierServe

/// The server with the KV tier: a DRAM budget of one context's blocks and a real swap file.
@Suite(.serialized)
struct KVTierServerTests {
    static let system = """
        You are the assistant of a laboratory that studies memory tiering on Linux servers. \
        Answer in plain English, briefly and precisely. When a question is about page reclaim, \
        swap, zram, huge pages, NUMA placement or the page cache, name the kernel mechanism \
        involved and the counter in /proc/vmstat or the cgroup file that shows its effect. When \
        a question is about the key-value cache of a language model, explain it in terms of \
        blocks of sixteen tokens, prefix reuse, eviction policies such as LRU or S3-FIFO, and \
        the cost of reading a block back from an SSD compared with recomputing it. Never invent \
        numbers; say what should be measured instead.
        """

    static func chat(_ user: String) -> [String: Any] {
        ["messages": [["role": "system", "content": system], ["role": "user", "content": user]],
         "max_tokens": 24, "temperature": 0, "return_tokens": true]
    }

    static var first: [String: Any] { chat("What does MADV_PAGEOUT do?") }
    static var second: [String: Any] { chat("Why can reading a KV block back from a swap file on an SSD be slower than recomputing it on the CPU?") }

    /// A reply's generated token ids.
    static func tokens(_ reply: HTTPReply) -> [Int] {
        ((reply.json["choices"] as? [[String: Any]])?.first?["tokens"] as? [Int]) ?? []
    }

    /// The samples of a Prometheus text exposition by `name{labels}`, after checking its shape:
    /// every sample line is `name{labels} value`, its family has a `# TYPE` line before it, and
    /// counters end in `_total`.
    static func samples(_ text: String) -> [String: Int] {
        var types: [String: String] = [:]
        var out: [String: Int] = [:]
        let sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9]+)$/
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4 && ["counter", "gauge"].contains(parts[3]), "bad TYPE line: \(line)")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            guard let m = try? sample.wholeMatch(in: String(line)) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            let name = String(m.1)
            #expect(types[name] != nil, "\(name) has no # TYPE line before it")
            if types[name] == "counter" { #expect(name.hasSuffix("_total"), "counter \(name) does not end in _total") }
            out[name + (m.2.map(String.init) ?? "")] = Int(m.3)
        }
        return out
    }

    @Test func sharedSystemPromptReusesCachedBlocksAcrossRequests() async throws {
        guard let (_, tokenizer, chatTemplate) = Fixture.loaded, let template = chatTemplate else {
            return Fixture.skip("sharedSystemPromptReusesCachedBlocksAcrossRequests")
        }
        let directory = "/var/tmp/tierkit-serve-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // Without a tier: the reference tokens (the same context, so the same runtime shapes).
        let reference = try await withServer(parallel: 1) { port in
            let a = try await http("POST", "/v1/chat/completions", port: port, body: ServerTests.body(Self.first))
            let b = try await http("POST", "/v1/chat/completions", port: port, body: ServerTests.body(Self.second))
            return (Self.tokens(a), Self.tokens(b))
        }
        let (referenceFirst, referenceSecond) = try #require(reference)
        #expect(referenceFirst.count == 24 && referenceSecond.count == 24)

        // With the tier: 16 blocks of 16 tokens (one 256-token context, the least the server
        // allows), LRU, every victim to the swap file, swapped-out blocks always read back.
        let blockSize = 16, poolBlocks = 16
        let result = try await withServer(parallel: 1, kvBlocks: poolBlocks, tier: { cache in
            try KVTiers.make(memory: cache, policy: "lru", admission: "always",
                             swap: KVSwapConfiguration(path: directory + "/kv.swap", size: 64 << 20, queueDepth: 8), resume: .swap)
        }) { port in
            let a = try await http("POST", "/v1/chat/completions", port: port, body: ServerTests.body(Self.first))
            let b = try await http("POST", "/v1/chat/completions", port: port, body: ServerTests.body(Self.second))
            let metrics = try await http("GET", "/metrics", port: port)
            return (a, b, metrics)
        }
        let (a, b, metrics) = try #require(result)
        #expect(a.status == 200 && b.status == 200 && metrics.status == 200)
        #expect(metrics.headers["content-type"] == PrometheusText.contentType)
        #expect(Self.tokens(a) == referenceFirst)
        #expect(Self.tokens(b) == referenceSecond)

        // The counts follow from the token counts. Request 1 starts in an empty pool and keeps
        // its full blocks cached: the keys and values of its prompt and all generated tokens
        // but the last. Request 2 reuses the full blocks of the common prefix (the chat template
        // around the system prompt) from DRAM, needs blocks for the rest, and takes those the
        // pool lacks by evicting request 1's other blocks, each written to the swap file.
        let render = { (m: [String: Any]) -> [Int32] in
            let messages = (m["messages"] as! [[String: String]]).map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
            return tokenizer.encode(template.render(messages))
        }
        let p1 = render(Self.first), p2 = render(Self.second)
        let common = zip(p1, p2).prefix { $0 == $1 }.count
        let reused = min(common / blockSize, (p2.count - 1) / blockSize)
        let cached1 = (p1.count + 24 - 1) / blockSize
        let total2 = (p2.count + 24 - 1 + blockSize - 1) / blockSize
        let evictions = total2 - reused - (poolBlocks - cached1)
        #expect(reused >= 8, "the system prompt spans \(common) common tokens")
        #expect(evictions >= 1, "the second request must force swapping (p1 \(p1.count), p2 \(p2.count), common \(common))")

        let s = Self.samples(metrics.body)
        let slotBytes = (368_640 + 4095) / 4096 * 4096
        #expect(s["tierkit_kv_hits_total{tier=\"dram\"}"] == reused)
        #expect(s["tierkit_kv_hits_total{tier=\"ssd\"}"] == 0)
        #expect(s["tierkit_kv_prompt_tokens_total{source=\"reused\"}"] == reused * blockSize)
        #expect(s["tierkit_kv_prompt_tokens_total{source=\"prefilled\"}"] == p1.count + p2.count - reused * blockSize)
        #expect(s["tierkit_kv_evictions_total"] == max(0, evictions))
        #expect(s["tierkit_kv_swap_outs_total"] == max(0, evictions))
        #expect(s["tierkit_kv_written_bytes_total"] == max(0, evictions) * slotBytes)
        #expect(s["tierkit_kv_read_bytes_total"] == 0)
        #expect(s["tierkit_kv_checksum_failures_total"] == 0)
        #expect(s["tierkit_kv_recomputed_tokens_total"] == 0)
        #expect(s["tierkit_kv_blocks{state=\"total\"}"] == poolBlocks)
        #expect(s["tierkit_kv_block_bytes"] == 368_640)
        #expect(s["tierkit_requests_total"] == 2)
        #expect(s["tierkit_requests_ended_total{outcome=\"finished\"}"] == 2)
        #expect(s["tierkit_prompt_tokens_total"] == p1.count + p2.count)
        #expect(s["tierkit_generated_tokens_total"] == 48)
        #expect(s["tierkit_preemptions_total"] == 0)
    }

    @Test func metricsWithoutATierHaveOnlyServerFamilies() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("metricsWithoutATierHaveOnlyServerFamilies") }
        let text = try await withServer { port in try await http("GET", "/metrics", port: port).body }
        let s = Self.samples(try #require(text))
        #expect(s["tierkit_requests_total"] == 0)
        #expect(s["tierkit_kv_blocks{state=\"total\"}"] == 2 * 16)
        #expect(s["tierkit_kv_blocks{state=\"free\"}"] == 2 * 16)
        #expect(!s.keys.contains { $0.hasPrefix("tierkit_kv_hits_total") })
    }
}

extension KVTierServerTests {
    @Test func preemptedRequestsGetTheirSoloTokens() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("preemptedRequestsGetTheirSoloTokens") }
        let directory = "/var/tmp/tierkit-serve-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A long prompt (about 15 blocks at its end) and a short one generating 120 tokens (about
        // 10): together more than the 16-block pool, so whichever came second is preempted.
        var first = Self.first
        first["max_tokens"] = 64
        let second: [String: Any] = ["messages": [["role": "user", "content": "Tell me a long story about a cat who lives in a lighthouse."]],
                                     "max_tokens": 120, "temperature": 0, "return_tokens": true]
        let bodies = [ServerTests.body(first), ServerTests.body(second)]
        let solo = try await withServer(parallel: 1) { port in
            var out: [[Int]] = []
            for body in bodies { out.append(Self.tokens(try await http("POST", "/v1/chat/completions", port: port, body: body))) }
            return out
        }
        // Both at once, admitted when their prompts fit; the newest is preempted when blocks run
        // short and resumes from its cached blocks (DRAM, the swap file, or recomputed).
        let result = try await withServer(parallel: 2, kvBlocks: 16, preemptive: true, tier: { cache in
            try KVTiers.make(memory: cache, swap: KVSwapConfiguration(path: directory + "/kv.swap", size: 64 << 20, queueDepth: 8))
        }) { port in
            async let a = http("POST", "/v1/chat/completions", port: port, body: bodies[0])
            async let b = http("POST", "/v1/chat/completions", port: port, body: bodies[1])
            let replies = try await [a, b]
            return (replies.map(Self.tokens), try await http("GET", "/metrics", port: port))
        }
        let (tokens, metrics) = try #require(result)
        let soloTokens = try #require(solo)
        #expect(tokens == soloTokens)
        let s = Self.samples(metrics.body)
        #expect((s["tierkit_preemptions_total"] ?? 0) >= 1)
        #expect(s["tierkit_requests_ended_total{outcome=\"finished\"}"] == 2)
        #expect(s["tierkit_generated_tokens_total"] == soloTokens.map(\.count).reduce(0, +))
        #expect(s["tierkit_kv_checksum_failures_total"] == 0)
    }
}
