/// Refault feedback, after Meta's TMO/Senpai: keep reclaiming as long as the cost signal stays
/// below a target, and back off when it rises above it. The signal is PSI memory `some` avg10
/// when the snapshot carries it (and `signal` allows it), else the refault rate.
///
/// The controller keeps a reclaim pressure in bytes per period. Each decision computes the
/// relative error `e = clamp((target − signal) / target, −1, 1)` and updates
/// `pressure = clamp(pressure × (1 + gain × e), step, max)`: multiplicative, so it grows fast
/// while refaults are rare and shrinks as they approach the target. It reclaims `pressure`
/// bytes only when `e > 0` (signal strictly below target); at or above target it reclaims
/// nothing that period (Senpai's back-off). Reclaim takes the coldest resident memory first:
/// regions not accessed in the period, oldest first, then accessed ones, fewest accesses first
/// (the kernel's LRU order, as memory.reclaim would take it); a region larger than what is
/// left is cut to its first pages. The charge is the region's resident bytes.
public struct RefaultFeedback: PagingPolicy {
    public static let name = "refault"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("target", "refaults per second to hold (default 10)"),
        ("psi_target", "PSI memory some avg10, percent, to hold when PSI is used (default 0.1)"),
        ("signal", "auto (PSI when present, else refaults; default), psi or refaults"),
        ("step", "initial and smallest pressure, bytes per period (default 4MiB)"),
        ("max", "largest pressure, bytes per period (default 256MiB)"),
        ("gain", "how strongly the error scales the pressure each period (default 0.5)"),
        ("action", "pageout (default) or cold"),
    ]

    public let target: Double
    public let psiTarget: Double
    public let signal: String
    public let step: Int64
    public let maxPressure: Int64
    public let gain: Double
    public let advice: PagingAdvice
    /// Bytes per period the controller would reclaim now.
    public private(set) var pressure: Int64

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        target = try parameters.double("target", default: 10, in: 1e-9...1e12)
        psiTarget = try parameters.double("psi_target", default: 0.1, in: 1e-9...100)
        signal = try parameters.choice("signal", default: "auto", from: ["auto", "psi", "refaults"])
        step = try parameters.bytes("step", default: 4 << 20)
        maxPressure = try parameters.bytes("max", default: 256 << 20)
        gain = try parameters.double("gain", default: 0.5, in: 0...10)
        advice = try parameters.choice("action", default: "pageout", from: ["pageout", "cold"]) == "cold" ? .cold : .pageout
        try parameters.finish(known: Self.parameterHelp.map(\.key))
        guard step > 0, step <= maxPressure else {
            throw PolicyError("\(Self.name): need 0 < step <= max (got step=\(step), max=\(maxPressure))")
        }
        pressure = step
    }

    public var label: String {
        "\(Self.name)(target=\(target)/s,signal=\(signal),step=\(step),max=\(maxPressure),gain=\(gain))"
    }

    /// The relative error for a snapshot: positive when the signal is below its target.
    public func error(_ snapshot: HeatSnapshot) -> Double {
        let usePSI: Bool
        switch signal {
        case "psi": usePSI = true
        case "refaults": usePSI = false
        default: usePSI = snapshot.psiSomeAvg10 != nil
        }
        let (value, goal) = usePSI ? (snapshot.psiSomeAvg10 ?? 0, psiTarget) : (snapshot.refaultRate, target)
        return min(1, max(-1, (goal - value) / goal))
    }

    public mutating func decide(_ snapshot: HeatSnapshot) -> [PagingAction] {
        let e = error(snapshot)
        let next = (Double(pressure) * (1 + gain * e)).rounded(.down)
        pressure = min(maxPressure, max(step, Int64(min(next, 9e18))))
        guard e > 0 else { return [] }
        let order = snapshot.regions.filter { $0.residentPages > 0 }.sorted { a, b in
            if (a.accesses == 0) != (b.accesses == 0) { return a.accesses == 0 }
            if a.accesses == 0 {
                return a.ageNanoseconds != b.ageNanoseconds ? a.ageNanoseconds > b.ageNanoseconds : a.start < b.start
            }
            return a.accesses != b.accesses ? a.accesses < b.accesses : a.start < b.start
        }
        return PagingAction.spending(pressure, on: order, advice: advice, pageSize: snapshot.pageSize)
    }
}
