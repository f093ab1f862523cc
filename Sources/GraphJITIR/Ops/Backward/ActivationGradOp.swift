/// `dy · f'(·)`: an elementwise activation's backward pass. The second input is the activation's
/// output or its input, whichever its ``ElementwiseActivation/Derivative`` reads.
public struct ActivationGradOp: OperationDefinition {
    /// The forward activation, whose derivative is applied.
    public let function: ElementwiseActivation

    /// Creates the backward pass of `function`.
    public init(function: ElementwiseActivation) { self.function = function }

    public var mnemonic: String { function.rawValue + "_grad" }
    public var kind: OperationKind { .elementwise }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        try require(shapes[0] == shapes[1], "dy and the activation's \(function.definition.derivative.readsOutput ? "output" : "input") of one shape")
        return [shapes[0]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let derivative = function.definition.derivative
        let scalars = zip(inputs[0].scalars, inputs[1].scalars).map { dy, operand in
            Float(Double(dy) * derivative(Double(operand)))
        }
        return [Tensor(shape: inputs[0].shape, uncheckedScalars: scalars)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        .stage(.activationGradient(function, operand: node.inputs[1]))
    }
}
