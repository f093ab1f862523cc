/// `x[..., K]ᵀ · dy[..., N] -> [K, N]`, the leading axes summed: a Dense layer's kernel gradient.
public struct MatMulWeightGradOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "matmul_weight_grad" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (x, dy) = (shapes[0], shapes[1])
        try require(x.count >= 2 && x.count == dy.count && Array(x.dropLast()) == Array(dy.dropLast()),
                    "x[..., K] and dy[..., N] with the same leading axes")
        return [[x.last!, dy.last!]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, dy) = (inputs[0], inputs[1])
        let (k, n) = (x.shape.last!, dy.shape.last!)
        let rows = x.elementCount / max(k, 1)
        var out = [Float](repeating: 0, count: k * n)
        for i in 0..<k {
            for j in 0..<n {
                var sum: A = 0
                for r in 0..<rows { sum += A(x.scalars[r * k + i]) * A(dy.scalars[r * n + j]) }
                out[i * n + j] = Float(sum)
            }
        }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.inputs[0]].shape
        let (k, n) = (x.last!, graph[node.inputs[1]].shape.last!)
        let rows = x.elementCount / k
        // C[K, N] = xᵀ · dy, x stored [rows, K]
        return .anchor(.routine(RoutineLowering("sgemm_t", [
            .int(1), .int(0), .int(k), .int(n), .int(rows), .input(node.inputs[0]), .int(k), .input(node.inputs[1]),
            .int(n), .output(node.output), .int(n), .null, .activation(.linear), .int(0),
        ], multiplyAdds: .saturatingProduct(rows, k, n))))
    }
}
