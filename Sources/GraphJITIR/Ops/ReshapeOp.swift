/// The same elements under another shape: a view, never a copy.
public struct ReshapeOp: OperationDefinition {
    /// The output's shape; it must hold as many elements as the input.
    public let shape: [Int]

    /// Creates a reshape to `shape`.
    public init(shape: [Int]) { self.shape = shape }

    public var mnemonic: String { "reshape" }
    public var attributeDescription: String { "to \(shape)" }
    public var kind: OperationKind { .view }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        try require(shape.allSatisfy { $0 >= 0 } && shape.elementCount == shapes[0].elementCount,
                    "\(shape.elementCount) elements to reshape to \(shape)")
        return [shape]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        [Tensor(shape: outputShapes[0], uncheckedScalars: inputs[0].scalars)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering { .view }

    /// The gradient under the input's shape.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0], needed[0] else { return [nil] }
        return [try builder.apply(.reshape(builder.shape(of: node.inputs[0])), [dy])]
    }
}
