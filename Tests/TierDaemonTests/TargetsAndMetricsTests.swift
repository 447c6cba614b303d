import Prometheus
import Testing

@testable import TierDaemon

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

struct TargetsAndMetricsTests {
    @Test func resolverNeverYieldsItselfInitOrKernelThreads() {
        let resolver = TargetResolver()
        let own = resolver.resolve(.pid(getpid()))
        #expect(own.pids.isEmpty)
        #expect(own.excluded == [getpid(): .daemonItself])
        let initProcess = resolver.resolve(.pid(1))
        #expect(initProcess.pids.isEmpty)
        #expect(initProcess.excluded == [1: .initProcess])
        // kthreadd is pid 2 on Linux.
        let kthreadd = resolver.resolve(.pid(2))
        #expect(kthreadd.pids.isEmpty)
        #expect(kthreadd.excluded == [2: .kernelThread])
        #expect(resolver.resolve(.command("kthreadd")).pids.isEmpty)
        #expect(resolver.resolve(.cgroup("/nonexistent")).problem == "cannot read /nonexistent/cgroup.procs")
    }

    @Test func commandSelectorFindsAChildByName() throws {
        var pid: pid_t = 0
        let arguments: [String] = ["/bin/sleep", "5"]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        #expect(posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ) == 0)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        // The child is "sleep" once it has exec'd.
        var found: [Int32] = []
        for _ in 0..<200 {
            found = TargetResolver().resolve(.command("sleep")).pids
            if found.contains(pid) { break }
            usleep(5_000)
        }
        #expect(found.contains(pid))
        #expect(TargetResolver().resolve(.pid(pid)).pids == [pid])
    }

    @Test func metricsEndpointServesPrometheusText() {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "tierkit", metricName: "test", unitName: "total", helpText: ""),
            labels: [("target", "a")]).increment(by: Int64(3))
        let ok = String(decoding: MetricsServer.response(to: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", registry: registry), as: UTF8.self)
        #expect(ok.hasPrefix("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(ok.contains("tierkit_test_total{target=\"a\"} 3\n"))
        let missing = String(decoding: MetricsServer.response(to: "GET /other HTTP/1.1\r\n\r\n", registry: registry), as: UTF8.self)
        #expect(missing.hasPrefix("HTTP/1.0 404 Not Found"))
        let post = String(decoding: MetricsServer.response(to: "POST /metrics HTTP/1.1\r\n\r\n", registry: registry), as: UTF8.self)
        #expect(post.hasPrefix("HTTP/1.0 405"))
    }
}
