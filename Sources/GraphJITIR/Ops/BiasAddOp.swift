/// `x[..., N] + b[N]`.
public struct BiasAddOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "bias_add" }
    public var kind: OperationKind { .elementwise }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let n = shapes[0].last
        try require(n != nil && shapes[1] == [n!], "a bias of shape [\(n ?? 0)]")
        return [shapes[0]]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, bias) = (inputs[0], inputs[1])
        let n = bias.elementCount
        var out = x
        for i in 0..<out.elementCount { out.scalars[i] = Float(A(x.scalars[i]) + A(bias.scalars[i % n])) }
        return [out]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        .stage(.bias(node.inputs[1], width: graph[node.inputs[1]].shape[0]))
    }

    /// `dx = dy`, `db = Σ_rows dy`.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0] else { return [nil, nil] }
        return [needed[0] ? dy : nil, needed[1] ? try builder.apply(Operation(BiasGradOp()), [dy]) : nil]
    }
}
