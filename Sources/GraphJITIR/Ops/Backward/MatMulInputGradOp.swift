/// `dy[..., N] · w[K, N]ᵀ -> [..., K]`: a Dense layer's gradient with respect to its input.
public struct MatMulInputGradOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "matmul_input_grad" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (dy, w) = (shapes[0], shapes[1])
        try require(dy.count >= 2 && w.count == 2 && dy.last == w[1], "dy[..., N] and kernel [K, N] with matching N")
        return [dy.dropLast() + [w[0]]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (dy, w) = (inputs[0], inputs[1])
        let (k, n) = (w.shape[0], w.shape[1])
        let rows = dy.elementCount / n
        var out = [Float](repeating: 0, count: rows * k)
        for r in 0..<rows {
            for i in 0..<k {
                var sum: A = 0
                for j in 0..<n { sum += A(dy.scalars[r * n + j]) * A(w.scalars[i * n + j]) }
                out[r * k + i] = Float(sum)
            }
        }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let w = graph[node.inputs[1]].shape
        let (k, n) = (w[0], w[1])
        let rows = graph[node.inputs[0]].shape.elementCount / n
        // C[rows, K] = dy[rows, N] · wᵀ, w stored [K, N]
        return .anchor(.routine(RoutineLowering("sgemm_t", [
            .int(0), .int(1), .int(rows), .int(k), .int(n), .input(node.inputs[0]), .int(n), .input(node.inputs[1]),
            .int(n), .output(node.output), .int(k), .null, .activation(.linear), .int(0),
        ], multiplyAdds: .saturatingProduct(rows, k, n))))
    }
}
