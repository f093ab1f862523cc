/// The weighted sum's backward pass: inputs `dctx` (the output's gradient), the weights `w` and
/// the values `v` of ``WeightedSumOp``; outputs `dw[o, t, m] = Σ_d dctx[o, m, d] · v[o, t, m, d]`
/// and `dv[o, t, m, d] = w[o, t, m] · dctx[o, m, d]`.
public struct WeightedSumGradOp: OperationDefinition {
    /// The forward sum's axis: the values' axis `T` (a non-negative index, not the last).
    public let axis: Int

    /// Creates the backward pass of a weighted sum over `axis`.
    public init(axis: Int) { self.axis = axis }

    public var mnemonic: String { "weighted_sum_grad" }
    public var attributeDescription: String { "axis=\(axis)" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 3)
        let forward = try WeightedSumOp(axis: axis).outputShapes(for: [shapes[1], shapes[2]])
        try require(shapes[0] == forward[0], "dctx of the weighted sum's output shape \(forward[0])")
        return [shapes[1], shapes[2]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (dctx, w, v) = (inputs[0], inputs[1], inputs[2])
        let (outer, steps, middle, depth) = WeightedSumOp(axis: axis).geometry(of: v.shape)
        var dw = [Float](repeating: 0, count: w.elementCount)
        var dv = [Float](repeating: 0, count: v.elementCount)
        for o in 0..<outer {
            for t in 0..<steps {
                for m in 0..<middle {
                    let row = (o * steps + t) * middle + m
                    let context = (o * middle + m) * depth
                    var sum: A = 0
                    for d in 0..<depth {
                        sum += A(dctx.scalars[context + d]) * A(v.scalars[row * depth + d])
                        dv[row * depth + d] = Float(A(w.scalars[row]) * A(dctx.scalars[context + d]))
                    }
                    dw[row] = Float(sum)
                }
            }
        }
        return [Tensor(shape: w.shape, uncheckedScalars: dw), Tensor(shape: v.shape, uncheckedScalars: dv)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let (outer, steps, middle, depth) = WeightedSumOp(axis: axis).geometry(of: graph[node.inputs[2]].shape)
        return .anchor(.routine(RoutineLowering("weighted_sum_grad", [
            .int(outer), .int(steps), .int(middle), .int(depth), .input(node.inputs[1]), .input(node.inputs[2]),
            .input(node.inputs[0]), .output(node.outputs[0]), .output(node.outputs[1]),
        ], multiplyAdds: .saturatingProduct(2, outer, steps, middle, depth))))
    }
}
