/// `x[..., K] · W[K, N]` with the kernel stored as bfloat16: weight-only compression, the
/// arithmetic float32. Inputs `x` and the kernel, whose values are bf16 numbers kept as floats
/// (``Bf16MatMulOp/rounded(_:)`` of the float kernel); output `[..., N]`, before the bias and
/// activation. The JIT calls `rt->dense_bf16` on the kernel packed once as 16-bit values
/// (``WeightFormat/bf16(_:)``), half the bytes of float32; the result is a float32 matmul of `x`
/// and the rounded kernel (within the float matmul's tolerance of the reference, which sums in
/// double).
public struct Bf16MatMulOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "matmul_bf16" }
    public var kind: OperationKind { .routine }

    /// `x[..., K]` and the kernel `[K, N]` (or `[..., N]` with leading extents multiplying to K,
    /// a convolution's HWIO kernel against its patches) give `[..., N]`.
    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (x, w) = (shapes[0], shapes[1])
        try require(x.count >= 2 && w.count >= 2 && x.last == w.dropLast().reduce(1, *),
                    "x[..., K] and a bf16 kernel [K, N] (or [..., N] with leading extents multiplying to K)")
        return [x.dropLast() + [w.last!]]
    }

    /// `value` rounded to the nearest bfloat16 (ties to even), as a float: the top 16 bits of its
    /// float32 after rounding; NaN stays NaN (made quiet, as `rt->pack_bf16_kernel` does), ±inf
    /// stays ±inf, and values past the largest bf16 round to ±inf as IEEE rounding does.
    public static func rounded(_ value: Float) -> Float {
        if value.isNaN { return Float(bitPattern: (value.bitPattern | 0x0040_0000) & 0xFFFF_0000) }
        let bits = value.bitPattern
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return Float(bitPattern: (bits &+ rounding) & 0xFFFF_0000)
    }

    /// The float matmul of `x` and the kernel as it holds bf16 values: what the runtime computes.
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, w) = (inputs[0], inputs[1])
        let n = w.shape.last!
        let kernel = Tensor(shape: [w.elementCount / n, n], uncheckedScalars: w.scalars)
        return MatMulOp().evaluate([x, kernel], outputShapes: outputShapes, accumulator: accumulator)
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let kernel = graph[node.inputs[1]].shape
        let (k, n) = (kernel.elementCount / kernel.last!, kernel.last!)
        let m = graph[node.inputs[0]].shape.elementCount / k
        return .anchor(.routine(RoutineLowering("dense_bf16", [
            .int(m), .int(n), .int(k), .input(node.inputs[0]), .weight(.bf16(node.inputs[1])), .output(node.output),
        ], multiplyAdds: m * n * k)))
    }
}
