import Foundation
import Testing
import TierCore

@testable import TierDaemon

struct ConfigurationTests {
    func problems(_ text: String) -> [String] {
        do {
            _ = try ConfigurationLoader.parse(text: text, file: "t.toml", validatePolicy: Daemon.validatePolicy)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func exampleConfigurationIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ConfigurationLoader.load(path: root.appendingPathComponent("tools/tierkitd.example.toml").path,
                                                         validatePolicy: Daemon.validatePolicy)
        #expect(configuration.periodSeconds == 5)
        #expect(configuration.socketPath == "/run/tierkit/tierkitd.sock")
        #expect(configuration.metricsAddress == nil)
        #expect(configuration.dryRun == false)
        #expect(configuration.targets.count == 1)
        let target = try #require(configuration.targets.first)
        #expect(target.name == "batch")
        #expect(target.selector == .command("hotcold-job"))
        #expect(target.policy == "cold-age")
        #expect(target.floorBytes == 64 << 20)
        #expect(target.rateBytesPerSecond == 64 << 20)
        #expect(target.parameters.map(\.key) == ["min_age", "quota", "wmark_high", "wmark_mid", "wmark_low"])
        #expect(target.parameters.map(\.value) == ["30s", "64MiB", "1.0", "1.0", "0.0"])
    }

    @Test func everyKindOfValueIsRead() throws {
        let configuration = try ConfigurationLoader.parse(text: """
            period = "250ms"
            metrics = ":9464"
            dry_run = true
            log_level = "debug"
            [[target]]
            name = "a"
            pid = 4242
            policy = "refault"
            rate = "unlimited"
            [[target]]
            name = "b"
            cgroup = "/sys/fs/cgroup/memory/b"
            policy = "prefetch"
            floor = 1048576
            rate = 4096
            """, file: "t.toml", validatePolicy: Daemon.validatePolicy)
        #expect(configuration.periodSeconds == 0.25)
        #expect(configuration.metricsAddress == SocketAddress(host: "127.0.0.1", port: 9464))
        #expect(configuration.dryRun)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.targets.map(\.selector) == [.pid(4242), .cgroup("/sys/fs/cgroup/memory/b")])
        #expect(configuration.targets.map(\.rateBytesPerSecond) == [nil, 4096])
        #expect(configuration.targets.map(\.floorBytes) == [0, 1 << 20])
        #expect(configuration.targets.map(\.line) == [5, 10])
    }

    @Test func semanticErrorsAreLocatedAtTheirLines() {
        let found = problems("""
            period = "5x"
            bogus = 1
            [[target]]
            name = "a"
            pid = 1
            policy = "nope"
            floor = "abc"
            [[target]]
            name = "b"
            command = "x/y"
            policy = "cold-age"
            rate = -3
            [target.parameters]
            quota = "1MiB"
            min_age = "zz"
            [[target]]
            name = "c"
            policy = "refault"
            """)
        #expect(found == [
            #"t.toml:1: period: expected a duration of at least 50ms such as "5s" or "500ms", found "5x""#,
            "t.toml:2: unknown key 'bogus' (expected one of: period, socket, metrics, dry_run, log_level, target)",
            "t.toml:5: target 'a': pid: expected a process id greater than 1 (pid 1 is never a target), found 1",
            "t.toml:6: target 'a': unknown paging policy 'nope'; known paging policies: cold-age, refault, prefetch",
            #"t.toml:7: target 'a': floor: expected a byte size such as "256MiB" or 268435456, found "abc""#,
            #"t.toml:10: target 'b': command: expected a command name without '/' such as "postgres", found "x/y""#,
            #"t.toml:12: target 'b': rate: expected bytes per second such as "64MiB/s", or "unlimited", found -3"#,
            "t.toml:15: target 'b': cold-age: min_age=zz is not a duration (e.g. 120s, 500ms, 2m)",
            "t.toml:16: target 'c': expected one of pid = N, cgroup = \"PATH\" or command = \"NAME\" to select its processes",
        ])
    }

    @Test func syntaxErrorsCarryLineAndColumn() {
        let header = problems("period = \"5s\"\n[[target]\nname = 1\n")
        #expect(header.count == 1)
        #expect(header.first?.hasPrefix("t.toml:2:") == true)
        #expect(header.first?.contains("TOML syntax: ") == true)
        #expect(problems("period = \n").first?.hasPrefix("t.toml:1:10: TOML syntax: ") == true)
    }

    @Test func duplicateNamesAreRefused() {
        #expect(problems("""
            [[target]]
            name = "a"
            pid = 10
            policy = "cold-age"
            [[target]]
            name = "a"
            pid = 11
            policy = "cold-age"
            """) == ["t.toml:6: target 'a': the name is already used by the target at line 1"])
    }

    @Test func unknownParametersAreLocated() {
        #expect(problems("""
            [[target]]
            name = "a"
            pid = 10
            policy = "cold-age"
            [target.parameters]
            min_age = "1s"
            min_agee = "1s"
            """) == ["t.toml:7: target 'a': cold-age: unknown parameter 'min_agee' (known: min_age, quota, wmark_high, wmark_mid, wmark_low, action)"])
    }

    @Test func aMissingFileSaysSo() {
        #expect(throws: ConfigurationError([ConfigurationProblem(file: "/nonexistent/t.toml", line: nil, message: "no such file")])) {
            try ConfigurationLoader.load(path: "/nonexistent/t.toml", validatePolicy: Daemon.validatePolicy)
        }
    }
}
