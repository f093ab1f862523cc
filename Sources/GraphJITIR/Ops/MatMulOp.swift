/// `x[..., K] · w[K, N] -> [..., N]`: a Dense layer's product on the last axis.
public struct MatMulOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "matmul" }
    public var kind: OperationKind { .contraction }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (x, w) = (shapes[0], shapes[1])
        try require(x.count >= 2 && w.count == 2 && x.last == w[0], "x[..., K] and kernel [K, N] with matching K")
        return [x.dropLast() + [w[1]]]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, w) = (inputs[0], inputs[1])
        let (k, n) = (w.shape[0], w.shape[1])
        let m = x.elementCount / k
        var out = [Float](repeating: 0, count: m * n)
        for row in 0..<m {
            for column in 0..<n {
                var sum: A = 0
                for i in 0..<k { sum += A(x.scalars[row * k + i]) * A(w.scalars[i * n + column]) }
                out[row * n + column] = Float(sum)
            }
        }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let weights = graph[node.inputs[1]].shape
        let (k, n) = (weights[0], weights[1])
        return .anchor(.matmul(x: node.inputs[0], weights: node.inputs[1],
                               m: graph[node.inputs[0]].shape.elementCount / k, n: n, k: k))
    }

    /// `dx = dy · wᵀ`, `dw = xᵀ · dy` (leading axes of x summed).
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0] else { return [nil, nil] }
        let dx = needed[0] ? try builder.apply(Operation(MatMulInputGradOp()), [dy, node.inputs[1]]) : nil
        let dw = needed[1] ? try builder.apply(Operation(MatMulWeightGradOp()), [node.inputs[0], dy]) : nil
        return [dx, dw]
    }
}
