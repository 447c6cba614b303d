#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Why a process a selector names is still left alone.
public enum ExclusionReason: String, Sendable, Equatable {
    case daemonItself = "the daemon itself"
    case initProcess = "pid 1"
    case kernelThread = "a kernel thread"
}

/// The processes a target's selector names now, after the safety exclusions.
public struct ResolvedTarget: Sendable, Equatable {
    /// The processes the daemon may act on, ascending.
    public var pids: [Int32]
    /// Processes the selector named but the daemon will never touch, with the reason.
    public var excluded: [Int32: ExclusionReason]
    /// Why nothing could be resolved (a cgroup directory that does not exist), if so.
    public var problem: String?

    public init(pids: [Int32] = [], excluded: [Int32: ExclusionReason] = [:], problem: String? = nil) {
        self.pids = pids
        self.excluded = excluded
        self.problem = problem
    }
}

/// Turns selectors into pids, every period, so processes that start or exit are followed.
///
/// Never returns the daemon's own pid, pid 1 or a kernel thread, whatever the selector says.
public struct TargetResolver: Sendable {
    /// The daemon's own pid (the caller's, by default).
    public var selfPID: Int32

    public init(selfPID: Int32 = getpid()) {
        self.selfPID = selfPID
    }

    /// The processes `selector` names now.
    public func resolve(_ selector: TargetSelector) -> ResolvedTarget {
        var candidates: [ProcessEntry] = []
        var problem: String? = nil
        switch selector {
        case .pid(let pid):
            if let info = ProcessTable.info(pid: pid) { candidates = [info] } else { problem = "pid \(pid) does not exist" }
        case .cgroup(let directory):
            if let pids = ProcessTable.cgroupPIDs(directory) {
                candidates = pids.compactMap(ProcessTable.info(pid:))
            } else {
                problem = "cannot read \(directory)/cgroup.procs"
            }
        case .command(let name):
            candidates = ProcessTable.allPIDs().compactMap(ProcessTable.info(pid:)).filter {
                !$0.isKernelThread && ($0.command == name || $0.executableName == name)
            }
        }
        var result = ResolvedTarget(problem: problem)
        for candidate in candidates {
            if let reason = exclusion(candidate) {
                result.excluded[candidate.pid] = reason
            } else {
                result.pids.append(candidate.pid)
            }
        }
        result.pids.sort()
        return result
    }

    /// Why the daemon must not act on `process`, or nil when it may.
    public func exclusion(_ process: ProcessEntry) -> ExclusionReason? {
        if process.pid == selfPID { return .daemonItself }
        if process.pid == 1 { return .initProcess }
        if process.isKernelThread { return .kernelThread }
        return nil
    }
}
