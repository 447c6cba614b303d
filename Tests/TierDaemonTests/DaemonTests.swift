import CLibBPF
import Foundation
import Testing
import TierDaemon
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What a process running as `nobody` sees when it connects to `path` and asks for status:
/// connect's errno (0 when it connected) and the first line it read back.
func connectAsNobody(_ path: String) throws -> (errno: Int32, reply: String) {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in path.utf8.enumerated() { raw[i] = b }
    }
    let request = Array("{\"command\":\"status\"}\n".utf8)
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
    defer { buffer.deallocate() }
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw DaemonTestError("pipe failed") }
    let child = fork()
    if child == 0 {
        // Only async-signal-safe calls on memory prepared before fork.
        close(fds[0])
        guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0 else { _exit(3) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var result: Int32 = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0 ? 0 : errno
        _ = write(fds[1], &result, 4)
        if result == 0 {
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var total = 0
            while total < 4096 {
                let n = read(fd, buffer + total, 4096 - total)
                if n <= 0 { break }
                total += n
            }
            _ = write(fds[1], buffer, total)
        }
        _exit(0)
    }
    close(fds[1])
    defer { close(fds[0]) }
    var status: Int32 = 0
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    waitpid(child, &status, 0)
    guard status == 0, bytes.count >= 4 else { throw DaemonTestError("nobody child failed (status \(status))") }
    let code = bytes.withUnsafeBytes { $0.load(as: Int32.self) }
    let reply = String(decoding: bytes[4...], as: UTF8.self)
    return (code, reply.split(separator: "\n").first.map(String.init) ?? "")
}

/// BPF program ids the process `pid` holds open (its fdinfo for program and link fds).
func heldProgramIDs(_ pid: Int32) -> Set<UInt32> {
    var ids = Set<UInt32>()
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fdinfo") else { return ids }
    for entry in entries {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(entry)", encoding: .utf8) else { continue }
        for line in text.split(separator: "\n") where line.hasPrefix("prog_id:") {
            if let id = UInt32(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
        }
    }
    return ids
}

/// Every loaded BPF program: id → name, enumerated with BPF_PROG_GET_NEXT_ID,
/// BPF_PROG_GET_FD_BY_ID and BPF_OBJ_GET_INFO_BY_FD.
func loadedPrograms() -> [UInt32: String] {
    var programs: [UInt32: String] = [:]
    var id: UInt32 = 0
    while bpf_prog_get_next_id(id, &id) == 0 {
        let fd = bpf_prog_get_fd_by_id(id)
        guard fd >= 0 else { continue }  // unloaded between the two calls
        defer { close(fd) }
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { continue }
        programs[id] = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    return programs
}

@Suite(.serialized)
struct DaemonTests {
    @Test func controlSocketIsRootOnlyByModeAndByPeerCredentials() throws {
        guard rootAvailable("control socket permissions") else { return }
        let scratch = try ScratchDirectory()
        // The scratch directory must be searchable by nobody for the second check.
        chmod(scratch.path, 0o755)
        let daemon = try DaemonProcess(configuration: "period = \"1s\"\n", scratch: scratch)

        var info = stat()
        #expect(stat(daemon.socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_uid == 0)

        // Mode 0600: nobody cannot even connect.
        let refusedByMode = try connectAsNobody(daemon.socket)
        #expect(refusedByMode.errno == EACCES)

        // With the mode loosened by hand, SO_PEERCRED still refuses the peer.
        chmod(daemon.socket, 0o666)
        let refusedByCredentials = try connectAsNobody(daemon.socket)
        #expect(refusedByCredentials.errno == 0)
        #expect(refusedByCredentials.reply
            == #"{"error":"permission denied: the control socket serves only root (uid 0); this peer is uid 65534","ok":false}"#)

        // Root is served.
        let status = try daemon.send(ControlRequest(command: .status))
        #expect(status.ok)
        #expect(status.status?.pid == daemon.process.pid)
        #expect(daemon.process.stderrText.contains("control connection refused"))
    }

    @Test func controlCommandsAnswerAndRefuseClearly() throws {
        guard rootAvailable("control commands") else { return }
        let scratch = try ScratchDirectory()
        let daemon = try DaemonProcess(configuration: "period = \"1s\"\n", scratch: scratch)
        #expect(try daemon.send(ControlRequest(command: .dryRun, enabled: true)).message == "dry run on")
        #expect(try daemon.send(ControlRequest(command: .status)).status?.dryRun == true)
        #expect(try daemon.send(ControlRequest(command: .pause, target: "nope")).error == "unknown target 'nope' (targets: )")
        #expect(try daemon.send(ControlRequest(command: .setPolicy, target: "nope", policy: "bogus")).error
            == "unknown paging policy 'bogus'; known paging policies: cold-age, refault, prefetch")
        // A raw line with an unknown command.
        let response = try rawRequest(daemon.socket, #"{"command":"reboot"}"#)
        #expect(response == #"{"error":"unknown command 'reboot' (known: status, targets, pause, resume, set-policy, dry-run)","ok":false}"#)
    }

    @Test func sigtermStopsCleanlyAndRemovesTheSocket() throws {
        guard rootAvailable("SIGTERM shutdown") else { return }
        let scratch = try ScratchDirectory()
        let daemon = try DaemonProcess(configuration: "period = \"10s\"\n", scratch: scratch)
        daemon.process.signal(SIGTERM)
        // The period sleep is cut short by the graceful shutdown: well under one period.
        let status = try #require(daemon.process.waitFor(seconds: 5))
        #expect(status == 0)
        #expect(access(daemon.socket, F_OK) != 0)
        #expect(daemon.process.stderrText.contains("tierkitd stopping"))
    }

    @Test func sigkillLeavesNoBPFProgramAttached() throws {
        guard rootAvailable("SIGKILL cleanup") else { return }
        let scratch = try ScratchDirectory()
        let pinnedBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/bpf")) ?? []
        let daemon = try DaemonProcess(configuration: "period = \"1s\"\n", scratch: scratch)
        let held = heldProgramIDs(daemon.process.pid)
        let loaded = loadedPrograms()
        // The recorder's programs are loaded and held by the daemon's descriptors alone.
        #expect(!held.isEmpty)
        #expect(held.allSatisfy { loaded[$0]?.hasPrefix("tk_") == true })

        daemon.process.signal(SIGKILL)
        _ = try #require(daemon.process.waitFor(seconds: 5))
        // Programs are freed after an RCU grace period: poll briefly.
        var remaining = held
        for _ in 0..<250 where !remaining.isEmpty {
            remaining = held.intersection(loadedPrograms().keys)
            usleep(20_000)
        }
        #expect(remaining.isEmpty)
        let pinnedAfter = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/bpf")) ?? []
        #expect(Set(pinnedAfter) == Set(pinnedBefore))
    }

    @Test func dryRunMovesNothing() throws {
        guard rootAvailable("dry run") else { return }
        let swap = try TestSwap()
        let scratch = try ScratchDirectory()
        let workload = try HotColdWorkload(size: "16MiB", hot: "10%", duration: "30s", scratch: scratch, name: "workload")
        let daemon = try DaemonProcess(configuration: """
            period = "200ms"
            dry_run = true
            [[target]]
            name = "hc"
            pid = \(workload.pid)
            policy = "cold-age"
            rate = "unlimited"
            [target.parameters]
            min_age = "400ms"
            quota = "1GiB"
            wmark_high = 1.0
            wmark_mid = 1.0
            wmark_low = 0.0
            """, scratch: scratch)
        let response = try daemon.status(afterPeriods: 8)
        let target = try #require(response.targets?.first)
        // It would have paged out the whole cold set, and moved nothing.
        #expect(target.dryRunBytes >= Int64(workload.cold.reduce(0) { $0 + $1.length }))
        #expect(target.pagedOutBytes == 0)
        #expect(target.actions == 0)
        let cold = try workload.counts(workload.cold)
        let hot = try workload.counts(workload.hot)
        #expect(cold.swapped == 0 && cold.present == cold.pages)
        #expect(hot.swapped == 0 && hot.present == hot.pages)
        #expect(daemon.process.stderrText.contains("dry run: would advise"))
        _ = swap
    }

    @Test func coldSetIsPagedOutHotSetStaysAndNothingElseMoves() throws {
        guard rootAvailable("paging integration") else { return }
        let swap = try TestSwap()
        let scratch = try ScratchDirectory()
        let workload = try HotColdWorkload(size: "64MiB", hot: "10%", duration: "60s", scratch: scratch, name: "workload")
        let bystander = try HotColdWorkload(size: "16MiB", hot: "10%", duration: "60s", scratch: scratch, name: "bystander")
        let bystanderRegion = bystander.hot + bystander.cold
        let daemon = try DaemonProcess(configuration: """
            period = "250ms"
            [[target]]
            name = "hc"
            pid = \(workload.pid)
            policy = "cold-age"
            rate = "unlimited"
            [target.parameters]
            min_age = "1s"
            quota = "1GiB"
            wmark_high = 1.0
            wmark_mid = 1.0
            wmark_low = 0.0
            """, scratch: scratch)

        // Within 40 periods (10 s) the cold set is out.
        let coldPages = workload.cold.reduce(0) { $0 + Int($1.length / 4096) }
        let hotPages = workload.hot.reduce(0) { $0 + Int($1.length / 4096) }
        var cold = try workload.counts(workload.cold)
        for _ in 0..<40 where cold.swapped < coldPages * 99 / 100 {
            _ = try daemon.status(afterPeriods: 1)
            cold = try workload.counts(workload.cold)
        }
        #expect(cold.swapped >= coldPages * 99 / 100)
        // The hot set was probed once, refaulted, and then stays resident.
        _ = try daemon.status(afterPeriods: 8)
        let hot = try workload.counts(workload.hot)
        #expect(hot.present == hotPages)
        let response = try daemon.status(afterPeriods: 1)
        let target = try #require(response.targets?.first)
        #expect(target.refaults >= Int64(hotPages))
        #expect(target.pagedOutBytes >= Int64(coldPages * 99 / 100) * 4096)
        #expect(target.pagedOutBytes <= target.requestedBytes)
        #expect(target.pids == [workload.pid])
        // The bystander is no target: none of its pages moved.
        let untouched = try bystander.counts(bystanderRegion)
        #expect(untouched.swapped == 0 && untouched.present == untouched.pages)
        let bystanderStatus = try String(contentsOfFile: "/proc/\(bystander.pid)/status", encoding: .utf8)
        #expect(bystanderStatus.contains("VmSwap:\t       0 kB"))
        _ = swap
    }
}

/// Sends one raw line to the control socket and returns the first line of the answer.
func rawRequest(_ socket: String, _ line: String) throws -> String {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in socket.utf8.enumerated() { raw[i] = b }
    }
    let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { throw DaemonTestError("connect \(socket) failed") }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var reply: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while !reply.contains(UInt8(ascii: "\n")) {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        reply += chunk[0..<n]
    }
    return String(decoding: reply, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
}
