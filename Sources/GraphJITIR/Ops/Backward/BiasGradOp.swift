/// `Σ over every axis but the last of dy[..., N] -> [N]`: a bias's gradient.
public struct BiasGradOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "bias_grad" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        try require(shapes[0].count >= 2, "dy of at least (batch, N)")
        return [[shapes[0].last!]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let dy = inputs[0]
        let n = dy.shape.last!
        var sums = [A](repeating: 0, count: n)
        for (index, value) in dy.scalars.enumerated() { sums[index % n] += A(value) }
        return [Tensor(shape: [n], uncheckedScalars: sums.map { Float($0) })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let shape = graph[node.inputs[0]].shape
        return .anchor(.routine(RoutineLowering("sum_rows", [
            .int(shape.elementCount / shape.last!), .int(shape.last!), .input(node.inputs[0]), .output(node.output),
        ])))
    }
}
