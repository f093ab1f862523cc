/// A batch-mean loss's gradient with respect to the prediction: inputs the prediction, the target
/// and the loss's gradient `[1]` (the loss weight); output `seed · ∂L_row/∂prediction / rows`.
/// For the `FromLogits` cross-entropies that is the fused softmax + cross-entropy gradient
/// `(softmax(z)·Σy − y) · seed / rows`.
public struct LossGradOp: OperationDefinition {
    /// The loss whose gradient is computed.
    public let function: LossFunction

    /// Creates the gradient of `function`.
    public init(function: LossFunction) { self.function = function }

    public var mnemonic: String { function.rawValue + "_grad" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 3)
        _ = try LossOp(function: function).outputShapes(for: Array(shapes[0...1]))
        try require(shapes[2] == [1], "the loss's gradient of shape [1]")
        return [shapes[0]]
    }

    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (prediction, target, seed) = (inputs[0], inputs[1], Double(inputs[2].scalars[0]))
        let classes = prediction.shape.last!
        let rows = prediction.elementCount / classes
        let width = target.elementCount / rows
        var out = [Float]()
        out.reserveCapacity(prediction.elementCount)
        for r in 0..<rows {
            let gradient = function.evaluate(prediction: prediction.scalars[(r * classes)..<((r + 1) * classes)],
                                             target: target.scalars[(r * width)..<((r + 1) * width)]).gradient
            out += gradient.map { Float($0 * seed / Double(rows)) }
        }
        return [Tensor(shape: prediction.shape, uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let prediction = graph[node.inputs[0]].shape
        return .anchor(.routine(RoutineLowering("loss_grad", [
            .loss(function), .int(prediction.elementCount / prediction.last!), .int(prediction.last!),
            .input(node.inputs[0]), .input(node.inputs[1]), .input(node.inputs[2]), .output(node.output),
        ])))
    }
}
