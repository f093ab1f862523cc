/// `y ⊙ (dy − Σ_axis y·dy)`: softmax's backward pass from its output `y`. Inputs: `dy`, `y`.
public struct SoftmaxGradOp: OperationDefinition {
    /// The axis the forward softmax normalized over (a non-negative index).
    public let axis: Int

    /// Creates the backward pass of a softmax over `axis`.
    public init(axis: Int) { self.axis = axis }

    public var mnemonic: String { "softmax_grad" }
    public var attributeDescription: String { "axis=\(axis)" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        try require(shapes[0] == shapes[1] && axis >= 0 && axis < shapes[0].count, "dy and y of one shape with axis \(axis)")
        return [shapes[0]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (dy, y) = (inputs[0], inputs[1])
        let (outer, extent, inner) = SoftmaxOp(axis: axis).geometry(of: y.shape)
        var out = dy
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * extent * inner + i
                var dot: A = 0
                for e in 0..<extent { dot += A(y.scalars[base + e * inner]) * A(dy.scalars[base + e * inner]) }
                for e in 0..<extent {
                    let at = base + e * inner
                    out.scalars[at] = Float(A(y.scalars[at]) * (A(dy.scalars[at]) - dot))
                }
            }
        }
        return [out]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let (outer, extent, inner) = SoftmaxOp(axis: axis).geometry(of: graph[node.output].shape)
        return .anchor(.routine(RoutineLowering("softmax_grad", [
            .input(node.inputs[1]), .input(node.inputs[0]), .output(node.output), .int(outer), .int(extent), .int(inner),
        ])))
    }
}
