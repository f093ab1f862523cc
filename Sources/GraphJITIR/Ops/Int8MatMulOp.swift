/// `x[..., K] · Wq[K, N]` as Keras 3's int8 Dense computes it (`keras/src/layers/core/dense.py`
/// `_int8_call`): inputs `x`, the int8 kernel `Wq` (integers in [-127, 127], stored as floats) and
/// its per-output-channel scale `s_w[N]`; output `[..., N]`, before the bias and activation.
///
/// Each row of `x` is quantized dynamically, `s_x = 127 / (max|x| + 1e-7)`,
/// `xq = clip(round_half_even(x · s_x), ±127)`; the products are summed in int32 and the result is
/// `Float(acc) / (s_w[n] · s_x)`, every float step in Keras's order, so GraphJIT's int8 outputs are
/// Keras's. The JIT calls `rt->dense_int8` on the kernel packed once as int8 (``WeightFormat/int8(_:)``).
public struct Int8MatMulOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "matmul_int8" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 3)
        let (x, w, scale) = (shapes[0], shapes[1], shapes[2])
        try require(x.count >= 2 && w.count >= 2 && x.last == w.dropLast().reduce(1, *) && scale == [w.last!],
                    "x[..., K], an int8 kernel [K, N] (or [..., N] with leading extents multiplying to K, "
                        + "a convolution's HWIO) and a kernel scale [N]")
        return [x.dropLast() + [w.last!]]
    }

    /// Keras's abs-max scale (`abs_max_quantize`) of values whose largest magnitude is `largest`:
    /// `127 / (largest + 1e-7)`, each step in float32. Kernels and input rows are both scaled so.
    public static func scale(forLargest largest: Float) -> Float { Float(127) / (largest + Float(1e-7)) }

    /// `value · scale` rounded half to even and clipped to ±127 (NaN to 0): one int8 value as Keras
    /// quantizes it, kept as a float.
    public static func quantized(_ value: Float, scale: Float = 1) -> Float {
        let rounded = (value * scale).rounded(.toNearestOrEven)
        return rounded.isNaN ? 0 : min(max(rounded, -127), 127)
    }

    /// The dynamic quantization of one row: `xq` and `s_x` (Keras's `abs_max_quantize`, axis -1).
    static func quantize(_ row: ArraySlice<Float>) -> (values: [Int32], scale: Float) {
        var largest: Float = 0
        for value in row where abs(value) > largest || value.isNaN { largest = abs(value) }
        let scale = Self.scale(forLargest: largest)
        return (row.map { Int32(Self.quantized($0, scale: scale)) }, scale)
    }

    /// Integer arithmetic is exact, so the accumulator type does not matter.
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, w, scales) = (inputs[0], inputs[1], inputs[2])
        let n = w.shape.last!
        let k = w.elementCount / n
        let m = x.elementCount / k
        let kernel = w.scalars.map { Int32(Self.quantized($0)) }
        var out = [Float](repeating: 0, count: m * n)
        for row in 0 ..< m {
            let (xq, inputScale) = Self.quantize(x.scalars[row * k ..< (row + 1) * k])
            for column in 0 ..< n {
                var sum: Int32 = 0
                for i in 0 ..< k { sum &+= xq[i] &* kernel[i * n + column] }
                out[row * n + column] = Float(sum) / (scales.scalars[column] * inputScale)
            }
        }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let kernel = graph[node.inputs[1]].shape
        let (k, n) = (kernel.elementCount / kernel.last!, kernel.last!)
        let m = graph[node.inputs[0]].shape.elementCount / k
        let scratch = Self.scratchFloats(rows: m, depth: k)
        return .anchor(.routine(RoutineLowering("dense_int8", [
            .int(m), .int(n), .int(k), .input(node.inputs[0]), .weight(.int8(node.inputs[1])), .input(node.inputs[2]),
            .output(node.output), .scratch(floats: scratch), .int(scratch),
        ], multiplyAdds: m * n * k)))
    }

    /// `rt->dense_int8`'s scratch, which it quantizes a pass of rows into (`ceil(K/4) · 4` bytes
    /// and a scale each): every row when they fit in about 1 MB, so that one pass holds all the
    /// work to split over the workers, else 64 rows or more.
    static func scratchFloats(rows: Int, depth: Int) -> Int {
        let perRow = (depth + 3) / 4 + 1
        return min(rows, max(64, (1 << 18) / perRow)) * perRow
    }
}
