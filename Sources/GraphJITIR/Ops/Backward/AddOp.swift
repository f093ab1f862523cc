/// `a + b` of one shape: where the gradients of a value read by several nodes meet.
public struct AddOp: OperationDefinition {
    /// Creates the op; it has no attributes.
    public init() {}

    public var mnemonic: String { "add" }
    public var kind: OperationKind { .elementwise }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        try require(shapes[0] == shapes[1], "two operands of one shape")
        return [shapes[0]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        [Tensor(shape: inputs[0].shape, uncheckedScalars: zip(inputs[0].scalars, inputs[1].scalars).map { $0 + $1 })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering { .stage(.add(node.inputs[1])) }

    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        [outputGradients[0], outputGradients[0]]
    }
}
