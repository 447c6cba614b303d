import TierCore
extension TraceFormat { static func detect(path: String) throws -> TraceFormat { .oracleGeneral } }
func resolveSizes(_ s: String, trace: TraceSpec) throws -> [Int64] { s.split(separator: ",").map { Int64($0)! } }
func formatBytes(_ b: Int64) -> String { "\(b)" }
func lineChartSVG(title: String, xLabel: String, yLabel: String, xIsBytes: Bool, series: [(String, [(Double, Double)])]) -> String { "" }
struct TraceStats { var hasNextAccess = true
  static func probe(_ s: TraceSpec) throws -> TraceStats { TraceStats() }
  static func requestCountHint(_ s: TraceSpec) throws -> Int64? { nil } }
