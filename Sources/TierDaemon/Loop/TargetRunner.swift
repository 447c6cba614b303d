import Logging
import TierCore
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One process of a target: held by a pidfd, with its pagemap open, its heat model and its
/// own policy instance (a policy's addresses mean one address space).
final class TargetProcess {
    let handle: ProcessHandle
    let pagemap: PageMap
    var heat = ProcessHeat()
    var policy: any PagingPolicy

    init(pid: Int32, policy: any PagingPolicy) throws(SystemCallError) {
        handle = try ProcessHandle(pid: pid)
        pagemap = try PageMap(pid: pid)
        self.policy = policy
    }

    var pid: Int32 { handle.pid }
}

/// One configured target across periods: its processes, its policy, its rate limit and floor.
final class TargetRunner {
    let index: Int
    private(set) var configuration: TargetConfiguration
    private var limiter: RateLimiter
    private var processes: [Int32: TargetProcess] = [:]
    private let metrics: TargetMetrics
    private var lastProblem: String?

    init(index: Int, configuration: TargetConfiguration, periodSeconds: Double, now: UInt64) {
        self.index = index
        self.configuration = configuration
        limiter = RateLimiter(rate: configuration.rateBytesPerSecond, periodSeconds: periodSeconds, now: now)
        metrics = TargetMetrics(target: configuration.name)
    }

    private func makePolicy() throws(PolicyError) -> any PagingPolicy {
        try PagingPolicies.make(name: configuration.policy, parameters: configuration.policyParameters)
    }

    /// Observe, decide, act and verify for every process of the target.
    func run(_ context: inout PeriodContext) {
        let logger = context.logger
        let name = configuration.name
        if let change = context.state.takePendingPolicy(index) {
            configuration.policy = change.name
            configuration.parameters = change.parameters
            do {
                for process in processes.values { process.policy = try makePolicy() }
                logger.info("policy changed", metadata: ["target": "\(name)", "policy": "\(change.name)"])
            } catch {
                report(context, "policy \(change.name): \(error)")
            }
        }

        // Follow the selector: new processes get a pidfd, gone ones are dropped.
        let resolved = context.resolver.resolve(configuration.selector)
        if let problem = resolved.problem, problem != lastProblem {
            logger.info("target has no processes", metadata: ["target": "\(name)", "reason": "\(problem)"])
        }
        lastProblem = resolved.problem
        let wanted = Set(resolved.pids)
        for (pid, process) in processes where !wanted.contains(pid) || process.handle.hasExited {
            processes[pid] = nil
            logger.info("process left target", metadata: ["target": "\(name)", "pid": "\(pid)"])
        }
        for pid in resolved.pids where processes[pid] == nil {
            do {
                processes[pid] = try TargetProcess(pid: pid, policy: try makePolicy())
                logger.info("process joined target", metadata: ["target": "\(name)", "pid": "\(pid)"])
            } catch {
                report(context, "pid \(pid): \(error)")
            }
        }
        context.activePIDs.formUnion(processes.keys)

        // Observe every process first: the floor is about the target's whole resident set.
        var observed: [(TargetProcess, ProcessHeat.Observation, rss: Int64)] = []
        var residentTotal: Int64 = 0
        var swappedTotal: Int64 = 0
        for pid in processes.keys.sorted() {
            guard let process = processes[pid] else { continue }
            do {
                let (observation, rss) = try observe(process, context)
                observed.append((process, observation, rss))
                residentTotal += rss
                swappedTotal += Int64(observation.swappedPages) * Int64(hostPageSize)
            } catch {
                if error.errno == ESRCH || process.handle.hasExited {
                    processes[pid] = nil
                } else {
                    report(context, "observe pid \(pid): \(error)")
                }
            }
        }

        let refaults = observed.reduce(0) { $0 + $1.1.refaults }
        let paused = context.state.isPaused(index)
        limiter.refill(now: context.now)
        var floorRoom = max(0, residentTotal - configuration.floorBytes)
        var outcome = ActionOutcome()
        if !paused {
            for (process, observation, _) in observed {
                let snapshot = HeatSnapshot(
                    time: context.now, periodNanoseconds: context.elapsed, pageSize: hostPageSize,
                    totalMemory: context.memory?.total ?? 0, freeMemory: context.memory?.available ?? 0,
                    psiSomeAvg10: context.pressure?.someAvg10,
                    refaultRate: Double(observation.refaults) / (Double(context.elapsed) / 1e9),
                    regions: observation.regions, refaultAddresses: Array(observation.refaultAddresses.suffix(4096)))
                let actions = process.policy.decide(snapshot)
                guard !actions.isEmpty else { continue }
                execute(actions, on: process, context: context, floorRoom: &floorRoom, outcome: &outcome)
            }
        }

        metrics.residentBytes.record(residentTotal)
        metrics.swappedBytes.record(swappedTotal)
        metrics.processes.record(processes.count)
        if refaults > 0 { metrics.refaults.increment(by: refaults) }
        context.state.update(index) { status in
            status.pids = processes.keys.sorted()
            status.policy = configuration.policy
            status.parameters = Dictionary(configuration.parameters.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            status.residentBytes = residentTotal
            status.swappedBytes = swappedTotal
            status.refaults += Int64(refaults)
            status.requestedBytes += outcome.requestedOut
            status.pagedOutBytes += outcome.movedOut
            status.requestedInBytes += outcome.requestedIn
            status.actions += Int64(outcome.actions)
            status.deferredActions += Int64(outcome.deferred)
            status.dryRunBytes += outcome.dryRunBytes
        }
    }

    /// Reads smaps (per-VMA referenced bytes), clears the referenced bits for the next period,
    /// reads pagemap for every private anonymous VMA, and updates the heat model.
    private func observe(_ process: TargetProcess, _ context: PeriodContext) throws(SystemCallError) -> (ProcessHeat.Observation, Int64) {
        let entries = try Smaps.read(pid: process.pid)
        try Smaps.clearReferenced(pid: process.pid)
        var vmas: [VMAObservation] = []
        var rss: Int64 = 0
        for entry in entries {
            rss += entry.rss
            let m = entry.mapping
            // Only private anonymous memory: paging out shared or file pages would reach
            // processes that are not targets.
            guard m.isAnonymous, !m.isShared, !m.isSpecial, entry.rss + entry.swap > 0 else { continue }
            let pages = Int(m.length) / hostPageSize
            let raw = try process.pagemap.entries(start: m.start, pages: pages)
            let states = raw.map { $0.present ? PageState.present.rawValue : $0.swapped ? PageState.swapped.rawValue : PageState.absent.rawValue }
            vmas.append(VMAObservation(start: m.start, states: states, referencedBytes: entry.referenced))
        }
        let observation = process.heat.observe(vmas, faults: context.faults[process.pid] ?? [:], now: context.now)
        return (observation, rss)
    }

    struct ActionOutcome {
        var requestedOut: Int64 = 0
        var movedOut: Int64 = 0
        var requestedIn: Int64 = 0
        var actions = 0
        var deferred = 0
        var dryRunBytes: Int64 = 0
    }

    /// Executes `actions` within the rate limit and the floor, then verifies each from pagemap.
    private func execute(_ actions: [PagingAction], on process: TargetProcess, context: PeriodContext,
                         floorRoom: inout Int64, outcome: inout ActionOutcome) {
        let logger = context.logger
        let page = Int64(hostPageSize)
        for action in actions {
            let pages = Int(action.length / UInt64(page))
            let before = process.heat.states(at: action.start, pages: pages)
            guard !before.isEmpty else { continue }
            // What the action moves: resident pages for pageout/cold, swapped ones for willneed.
            let moving: UInt8 = action.advice == .willneed ? PageState.swapped.rawValue : PageState.present.rawValue
            var allowance = min(limiter.available, action.advice == .willneed ? Int64.max : floorRoom)
            if action.advice != .willneed && !context.swapActive && action.advice == .pageout {
                report(context, "no active swap: pageout refused (create one with `tierkit swap setup --zram SIZE`)")
                outcome.deferred += 1
                continue
            }
            // Cut the action where its charge would pass the allowance.
            var cut = 0
            var charge: Int64 = 0
            for s in before {
                if s == moving {
                    guard charge + page <= allowance else { break }
                    charge += page
                }
                cut += 1
            }
            if cut < before.count { outcome.deferred += 1 }
            guard cut > 0, charge > 0 else { continue }
            let range = AddressRange(start: action.start, length: UInt64(cut) * UInt64(page))
            if context.dryRun {
                logger.info("dry run: would advise", metadata: [
                    "target": "\(configuration.name)", "pid": "\(process.pid)", "advice": "\(action.advice)",
                    "range": "\(range)", "bytes": "\(charge)"])
                if action.advice != .willneed { outcome.dryRunBytes += charge }
                metrics.dryRunBytes.increment(by: Int(charge))
                continue
            }
            limiter.spend(charge)
            allowance -= charge
            if action.advice != .willneed { floorRoom -= charge }
            let result: AdviseResult
            do {
                result = try process.handle.advise([range], action.advice)
            } catch {
                report(context, "pid \(process.pid): \(error)")
                return
            }
            outcome.actions += 1
            metrics.actions.increment()
            // Verify from pagemap: process_madvise says success even when nothing moved.
            let after: [UInt8]
            do {
                after = try process.pagemap.entries(start: range.start, pages: cut).map {
                    $0.present ? PageState.present.rawValue : $0.swapped ? PageState.swapped.rawValue : PageState.absent.rawValue
                }
            } catch {
                report(context, "verify pid \(process.pid): \(error)")
                continue
            }
            if let (vmaStart, first) = process.heat.locate(range.start) {
                // A page advised out but present already was touched in between: remember it,
                // so its fault counts as a refault next period.
                let remembered = action.advice == .pageout
                    ? zip(before, after).map { b, a in b == PageState.present.rawValue && a == PageState.present.rawValue ? PageState.advisedOut.rawValue : a }
                    : after
                process.heat.update(vmaStart: vmaStart, firstPage: first, states: remembered)
            }
            switch action.advice {
            case .pageout:
                var moved: Int64 = 0
                for (b, a) in zip(before, after) where b == PageState.present.rawValue && a == PageState.swapped.rawValue { moved += page }
                outcome.requestedOut += charge
                outcome.movedOut += moved
                metrics.requestedPageoutBytes.increment(by: Int(charge))
                metrics.pagedOutBytes.increment(by: Int(moved))
                if moved < charge {
                    metrics.pageoutShortfallBytes.increment(by: Int(charge - moved))
                    logger.notice("pageout moved less than requested", metadata: [
                        "target": "\(configuration.name)", "pid": "\(process.pid)", "range": "\(range)",
                        "requested_bytes": "\(charge)", "moved_bytes": "\(moved)", "difference_bytes": "\(charge - moved)",
                        "advised_bytes": "\(result.advisedBytes)"])
                } else {
                    logger.debug("pageout verified", metadata: [
                        "target": "\(configuration.name)", "pid": "\(process.pid)", "range": "\(range)", "bytes": "\(moved)"])
                }
            case .cold:
                // MADV_COLD only reorders the LRU: nothing to count in pagemap.
                outcome.requestedOut += charge
                metrics.requestedPageoutBytes.increment(by: Int(charge))
            case .willneed:
                outcome.requestedIn += charge
                metrics.willneedBytes.increment(by: Int(charge))
            }
        }
    }

    private func report(_ context: PeriodContext, _ problem: String) {
        context.logger.warning("target problem", metadata: ["target": "\(configuration.name)", "problem": "\(problem)"])
        context.state.update(index) { $0.lastError = problem }
    }
}
