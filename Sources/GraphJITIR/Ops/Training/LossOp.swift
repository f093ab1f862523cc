/// A loss reduced over the batch (Keras's `sum_over_batch_size`): inputs the prediction
/// `[..., classes]` (logits for the `FromLogits` functions) and the target; output `[1]`, the mean
/// of the per-row losses over every row (a partial batch divides by its own size).
public struct LossOp: OperationDefinition {
    /// The loss computed for each row.
    public let function: LossFunction

    /// Creates a batch-mean loss of `function`.
    public init(function: LossFunction) { self.function = function }

    public var mnemonic: String { function.rawValue }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let prediction = shapes[0]
        try require(prediction.count >= 2, "a prediction of at least (batch, classes)")
        let target = function.targetShape(for: prediction)
        try require(shapes[1] == target || (function.hasSparseTarget && shapes[1] == target + [1]),
                    "a target of shape \(target) for a prediction of \(prediction)")
        return [[1]]
    }

    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (prediction, target) = (inputs[0], inputs[1])
        let classes = prediction.shape.last!
        let rows = prediction.elementCount / classes
        let width = target.elementCount / rows
        var sum = 0.0
        for r in 0..<rows {
            sum += function.evaluate(prediction: prediction.scalars[(r * classes)..<((r + 1) * classes)],
                                     target: target.scalars[(r * width)..<((r + 1) * width)]).loss
        }
        return [Tensor(shape: [1], uncheckedScalars: [Float(sum / Double(rows))])]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let prediction = graph[node.inputs[0]].shape
        return .anchor(.routine(RoutineLowering("loss_value", [
            .loss(function), .int(prediction.elementCount / prediction.last!), .int(prediction.last!),
            .input(node.inputs[0]), .input(node.inputs[1]), .output(node.output),
        ])))
    }

    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let seed = outputGradients[0], needed[0] else { return [nil, nil] }
        guard !needed[1] else {
            throw GraphError.notDifferentiable(layer: node.layer, operation: "\(mnemonic) with respect to its target")
        }
        return [try builder.apply(Operation(LossGradOp(function: function)), [node.inputs[0], node.inputs[1], seed]), nil]
    }
}
