import Foundation
import Testing
import TierInfer
import TierServe

/// The HTTP server on a real loopback socket with the real model. Serialized: each test's
/// engine fills both cores.
@Suite(.serialized)
struct ServerTests {
    /// `{"prompt": ..., ...}` as a JSON body.
    static func body(_ fields: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    static func choice(_ reply: HTTPReply) -> [String: Any] {
        (reply.json["choices"] as? [[String: Any]])?.first ?? [:]
    }

    /// Text of a streamed response: the chunks' texts (or chat deltas) joined, and the finish reason.
    static func streamed(_ reply: HTTPReply) -> (text: String, finish: String?, done: Bool) {
        var text = ""
        var finish: String?
        for event in reply.events where event != "[DONE]" {
            let object = (try? JSONSerialization.jsonObject(with: Data(event.utf8))) as? [String: Any] ?? [:]
            guard let c = (object["choices"] as? [[String: Any]])?.first else { continue }
            text += (c["text"] as? String) ?? ((c["delta"] as? [String: Any])?["content"] as? String) ?? ""
            if let f = c["finish_reason"] as? String { finish = f }
        }
        return (text, finish, reply.events.last == "[DONE]")
    }

    @Test func greedyCompletionIsLlamaCppsTokens() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("greedyCompletionIsLlamaCppsTokens") }
        guard let golden = Fixture.golden()?["The capital of France is"] as? [String: Any],
              let expected = golden["greedy_tokens"] as? [Int], let expectedText = golden["text"] as? String else {
            Issue.record("../shared/models/smollm2-135m-q4_1.golden.json not found")
            return
        }
        try await withServer { port in
            let reply = try await http("POST", "/v1/completions", port: port, body: Self.body([
                "prompt": "The capital of France is", "max_tokens": 24, "temperature": 0, "return_tokens": true]))
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"] == "application/json")
            let c = Self.choice(reply)
            #expect(c["tokens"] as? [Int] == expected)
            #expect(c["text"] as? String == expectedText)
            #expect(c["finish_reason"] as? String == "length")
            let usage = reply.json["usage"] as? [String: Int]
            #expect(usage == ["prompt_tokens": 5, "completion_tokens": 24, "total_tokens": 29])
            #expect(reply.json["object"] as? String == "text_completion")
            #expect(reply.json["model"] as? String == "smollm2-test")

            // The same prompt as token ids gives the same tokens.
            let byIDs = try await http("POST", "/v1/completions", port: port, body: Self.body([
                "prompt": [504, 3575, 282, 4649, 314], "max_tokens": 24, "temperature": 0, "return_tokens": true]))
            #expect(Self.choice(byIDs)["tokens"] as? [Int] == expected)
        }
    }

    @Test func streamedChunksJoinToTheWholeText() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("streamedChunksJoinToTheWholeText") }
        try await withServer { port in
            for chat in [false, true] {
                let path = chat ? "/v1/chat/completions" : "/v1/completions"
                var fields: [String: Any] = ["max_tokens": 20, "temperature": 0.7, "seed": 42]
                if chat {
                    fields["messages"] = [["role": "user", "content": "What is the capital of France?"]]
                } else {
                    fields["prompt"] = "Once upon a time"
                }
                let whole = try await http("POST", path, port: port, body: Self.body(fields))
                #expect(whole.status == 200)
                let c = Self.choice(whole)
                let text = chat ? (c["message"] as? [String: Any])?["content"] as? String : c["text"] as? String
                fields["stream"] = true
                fields["stream_options"] = ["include_usage": true]
                let stream = try await http("POST", path, port: port, body: Self.body(fields))
                #expect(stream.status == 200)
                #expect(stream.headers["content-type"] == "text/event-stream")
                let joined = Self.streamed(stream)
                #expect(text != nil && !text!.isEmpty)
                #expect(joined.text == text)
                #expect(joined.finish == c["finish_reason"] as? String)
                #expect(joined.done)
                // The usage chunk, just before [DONE], counts what the whole response counted.
                let usageEvent = stream.events.dropLast().last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(usageEvent?["usage"] as? [String: Int] == whole.json["usage"] as? [String: Int])
                #expect(stream.events.count > 5)
            }
        }
    }

    @Test func stopStringsCutTheText() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("stopStringsCutTheText") }
        try await withServer { port in
            // Greedy: " Paris.\n\nThe United States has a population of ..."
            for stream in [false, true] {
                let reply = try await http("POST", "/v1/completions", port: port, body: Self.body([
                    "prompt": "The capital of France is", "max_tokens": 24, "temperature": 0,
                    "stop": ["population", "United"], "stream": stream]))
                #expect(reply.status == 200)
                if stream {
                    let joined = Self.streamed(reply)
                    #expect(joined.text == " Paris.\n\nThe ")
                    #expect(joined.finish == "stop")
                } else {
                    #expect(Self.choice(reply)["text"] as? String == " Paris.\n\nThe ")
                    #expect(Self.choice(reply)["finish_reason"] as? String == "stop")
                    // Tokens up to and including the one that completed the stop string.
                    #expect((reply.json["usage"] as? [String: Int])?["completion_tokens"] == 6)
                }
            }
        }
    }

    @Test func concurrentRequestsGetTheirSoloOutputs() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("concurrentRequestsGetTheirSoloOutputs") }
        try await withServer(parallel: 2) { port in
            let bodies = [
                Self.body(["prompt": "Once upon a time", "max_tokens": 24, "temperature": 0, "return_tokens": true]),
                Self.body(["prompt": "The capital of France is", "max_tokens": 16, "temperature": 0.8, "top_p": 0.9,
                           "seed": 7, "return_tokens": true]),
            ]
            var solo: [[Int]] = []
            for b in bodies {
                let reply = try await http("POST", "/v1/completions", port: port, body: b)
                solo.append(Self.choice(reply)["tokens"] as? [Int] ?? [])
            }
            #expect(solo[0].count == 24 && !solo[1].isEmpty)
            async let first = http("POST", "/v1/completions", port: port, body: bodies[0])
            async let second = http("POST", "/v1/completions", port: port, body: bodies[1])
            let together = try await [first, second].map { Self.choice($0)["tokens"] as? [Int] ?? [] }
            #expect(together == solo)
        }
    }

    @Test func badRequestsGetLocatedErrors() async throws {
        guard Fixture.loaded != nil else { return Fixture.skip("badRequestsGetLocatedErrors") }
        try await withServer { port in
            let cases: [(path: String, body: String, param: String?, message: String)] = [
                ("/v1/completions", "{\"prompt\": \"hi\", ", nil, "not valid JSON"),
                ("/v1/completions", "[1, 2]", nil, "must be a JSON object"),
                ("/v1/completions", "{\"max_tokens\": 4}", "prompt", "'prompt' is required"),
                ("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": \"4\"}", "max_tokens", "must be an integer"),
                ("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 0}", "max_tokens", "must be in 1..."),
                ("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 1000}", "max_tokens", "exceeds the context of 256"),
                ("/v1/completions", "{\"prompt\": \"hi\", \"temperature\": 3}", "temperature", "must be in 0.0...2.0"),
                ("/v1/completions", "{\"prompt\": \"hi\", \"stream\": \"yes\"}", "stream", "must be true or false"),
                ("/v1/completions", "{\"prompt\": [1, 99999999]}", "prompt", "outside the vocabulary"),
                ("/v1/completions", "{\"prompt\": \"hi\", \"stop\": 5}", "stop", "must be a string or an array"),
                ("/v1/chat/completions", "{\"messages\": []}", "messages", "non-empty array"),
                ("/v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "messages[0].role", "must be one of"),
            ]
            for c in cases {
                let reply = try await http("POST", c.path, port: port, body: c.body)
                #expect(reply.status == 400, "\(c.body)")
                let error = reply.json["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.contains(c.message) == true, "\(c.body): \(reply.body)")
                #expect(error?["param"] as? String == c.param, "\(c.body)")
                #expect(error?["type"] as? String == "invalid_request_error")
            }
            let models = try await http("GET", "/v1/models", port: port)
            #expect(models.status == 200)
            let data = models.json["data"] as? [[String: Any]]
            #expect(data?.map { $0["id"] as? String } == ["smollm2-test"])
        }
    }
}
