/// An elementwise activation (softmax is ``SoftmaxOp``: it cannot be written here).
/// Input: `x`; output: `f(x)`, of `x`'s shape.
public struct ActivationOp: OperationDefinition {
    /// The activation applied to each element.
    public let function: ElementwiseActivation

    /// Creates an op that applies `function` to each element.
    public init(function: ElementwiseActivation) { self.function = function }

    public var mnemonic: String { function.rawValue }
    public var kind: OperationKind { .elementwise }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        return shapes
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        [Tensor(shape: inputs[0].shape, uncheckedScalars: inputs[0].scalars.map { function($0) })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering { .stage(.activation(function)) }

    /// `dx = dy · f'`, from the output or the input as the derivative reads (linear passes `dy` on).
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0], needed[0] else { return [nil] }
        if function == .linear { return [dy] }
        let operand = function.definition.derivative.readsOutput ? node.output : node.inputs[0]
        return [try builder.apply(Operation(ActivationGradOp(function: function)), [dy, operand])]
    }
}
