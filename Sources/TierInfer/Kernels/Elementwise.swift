#if canImport(Glibc)
import Glibc
#endif

/// The f32 vector operations of a llama layer, in the forms GGML computes them.
public enum Elementwise {
    /// `out = x / sqrt(mean(x²) + eps) * weight`; the sum of squares is accumulated in double.
    @inline(__always)
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count: Int, eps: Float,
        out: UnsafeMutablePointer<Float>
    ) {
        let scale = rmsScale(x, count: count, eps: eps)
        for i in 0..<count { out[i] = x[i] * scale * weight[i] }
    }

    /// `1 / sqrt(mean(x²) + eps)`, the factor `rmsNorm` applies.
    @inline(__always)
    public static func rmsScale(_ x: UnsafePointer<Float>, count: Int, eps: Float) -> Float {
        var sum: Double = 0
        for i in 0..<count { sum += Double(x[i] * x[i]) }
        return 1 / (Float(sum / Double(count)) + eps).squareRoot()
    }

    /// The cos/sin table of llama's rotary embedding for one position: `dims / 2` angles
    /// `pos * base^(-2i/dims)`, computed by repeated multiplication as GGML does.
    @inline(__always)
    public static func ropeAngles(
        position: Int, dims: Int, base: Float,
        cos cosOut: UnsafeMutablePointer<Float>, sin sinOut: UnsafeMutablePointer<Float>
    ) {
        let thetaScale = powf(base, -2 / Float(dims))
        var theta = Float(position)
        for i in 0..<(dims / 2) {
            cosOut[i] = cosf(theta)
            sinOut[i] = sinf(theta)
            theta *= thetaScale
        }
    }

    /// Rotates the pairs `(2i, 2i + 1)` of `heads` consecutive head vectors of `dims` values
    /// (GGML's normal llama rope mode).
    @inline(__always)
    public static func rope(
        _ x: UnsafeMutablePointer<Float>, heads: Int, dims: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        for h in 0..<heads {
            let v = x + h * dims
            for i in 0..<(dims / 2) {
                let x0 = v[2 * i], x1 = v[2 * i + 1]
                v[2 * i] = x0 * cos[i] - x1 * sin[i]
                v[2 * i + 1] = x0 * sin[i] + x1 * cos[i]
            }
        }
    }

    /// `out[i] = silu(gate[i]) * up[i]`, with `silu(x) = x / (1 + e^-x)`.
    @inline(__always)
    public static func swiGLU(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<count {
            let g = gate[i]
            out[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// In-place softmax of `count` values.
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, x[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - m)
            x[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { x[i] *= inverse }
    }

    /// `x += y` over `count` values.
    @inline(__always)
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }
}
