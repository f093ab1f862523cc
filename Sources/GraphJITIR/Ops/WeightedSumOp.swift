/// `Σ over axis of weights · values`: values `[..., T, ..., D]` with `T` at `axis`, weights of the
/// same shape but `1` on the last axis (broadcast over `D`); the output drops `axis`. For the
/// attention layer: weights `[B, T, 1]`, values `[B, T, D]`, axis 1 -> `[B, D]`. Inputs: the
/// weights, then the values.
public struct WeightedSumOp: OperationDefinition {
    /// The axis `T` summed over (a non-negative index, not the last).
    public let axis: Int

    /// Creates a weighted sum over `axis`.
    public init(axis: Int) { self.axis = axis }

    public var mnemonic: String { "weighted_sum" }
    public var attributeDescription: String { "axis=\(axis)" }
    public var kind: OperationKind { .reduction }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (w, v) = (shapes[0], shapes[1])
        let expected = "weights (..., T, ..., 1) and values (..., T, ..., D) of equal rank, summed over axis \(axis) "
            + "(not the last)"
        try require(v.count >= 2 && axis >= 0 && axis < v.count - 1, expected)
        try require(w == v.dropLast() + [1], expected)
        var output = v
        output.remove(at: axis)
        return [output]
    }

    /// The `[outer, steps, middle, depth]` view of `values`.
    func geometry(of values: [Int]) -> (outer: Int, steps: Int, middle: Int, depth: Int) {
        (values[..<axis].elementCount, values[axis], values[(axis + 1)..<(values.count - 1)].elementCount, values.last!)
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (weights, values) = (inputs[0], inputs[1])
        let (outer, steps, middle, depth) = geometry(of: values.shape)
        var out = [Float](repeating: 0, count: outputShapes[0].elementCount)
        for o in 0..<outer {
            for m in 0..<middle {
                for d in 0..<depth {
                    var sum: A = 0
                    for t in 0..<steps {
                        let w = weights.scalars[(o * steps + t) * middle + m]
                        sum += A(w) * A(values.scalars[((o * steps + t) * middle + m) * depth + d])
                    }
                    out[(o * middle + m) * depth + d] = Float(sum)
                }
            }
        }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let (outer, steps, middle, depth) = geometry(of: graph[node.inputs[1]].shape)
        return .stage(.weightedSum(values: node.inputs[1], outer: outer, steps: steps, middle: middle, depth: depth))
    }

    /// `dw = Σ_d dctx · v`, `dv = w · dctx`.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dctx = outputGradients[0] else { return [nil, nil] }
        let grads = try builder.applyReturningAll(Operation(WeightedSumGradOp(axis: axis)),
                                                  [dctx, node.inputs[0], node.inputs[1]])
        return [needed[0] ? grads[0] : nil, needed[1] ? grads[1] : nil]
    }
}
