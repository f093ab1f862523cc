/// What one loss term of a training objective is: which value it reads, how, and its weight.
public struct LossTerm: Equatable, Sendable {
    /// The value the loss reads: the model output, or the logits before its softmax.
    public let prediction: ValueID
    /// The loss applied to ``prediction`` and the term's target.
    public let function: LossFunction
    /// The term's weight in the total loss (Keras's `loss_weights`; 1 by default).
    public let weight: Float
    /// The output's name (`dense_1`): the graph names the term's target input `dense_1_target`
    /// and its loss `dense_1_loss`.
    public let outputName: String

    /// Creates a term applying `function` to `prediction` with `weight`, for the output named
    /// `outputName`.
    public init(prediction: ValueID, function: LossFunction, weight: Float, outputName: String) {
        self.prediction = prediction
        self.function = function
        self.weight = weight
        self.outputName = outputName
    }
}

/// A model's forward graph extended into a train step or a test step.
///
/// The graph's inputs are the model's inputs, then one target per loss term. Its outputs are the
/// loss of each term (`[1]` each, unweighted, as Keras reports `dense_1_loss`), then the model's
/// predictions (for the metrics, computed before the update, as Keras does). A train step adds the
/// backward pass and one ``OptimizerStepOp`` whose results update every parameter, every slot and
/// `optimizer.iterations`.
public struct TrainingGraph: Sendable {
    /// The extended graph: inputs the model's, then the targets; outputs the losses, then the predictions.
    public let graph: Graph
    /// How many of the outputs are losses (the rest are predictions).
    public let lossCount: Int
    /// The optimizer's `iterations` state, when the graph trains.
    public let iterations: String?

    /// The name of the optimizer state for `slot` of `parameter` (`optimizer.dense.kernel.momentum`).
    public static func slotName(_ slot: String, of parameter: String) -> String { "optimizer.\(parameter).\(slot)" }
    /// The name of the optimizer's step counter.
    public static let iterationsName = "optimizer.iterations"

    /// Extends `forward` with the losses and, when `optimizer` is given, the backward pass and the
    /// optimizer step.
    public init(forward: Graph, losses: [LossTerm], optimizer: OptimizerRule?) throws {
        var builder = GraphBuilder(continuing: forward)
        let predictions = forward.outputs
        var lossValues: [ValueID] = []
        var seeds: [(value: ValueID, gradient: ValueID)] = []
        for term in losses {
            builder.scope = term.outputName + "_target"
            let shape = term.function.targetShape(for: builder.shape(of: term.prediction))
            let target = try builder.addInput(named: builder.scope, shape: shape)
            builder.scope = term.outputName + "_loss"
            let loss = try builder.apply(Operation(LossOp(function: term.function)), [term.prediction, target])
            lossValues.append(loss)
            if optimizer != nil {
                seeds.append((loss, try builder.apply(Operation(FillOp(value: term.weight, shape: [1])), [])))
            }
        }
        var iterationsName: String?
        if let optimizer {
            let parameters = forward.parameters
            let gradients = try Autodiff.gradients(of: seeds, withRespectTo: parameters.map(\.value), in: &builder)
            builder.scope = ""  // states are named in full
            let iterations = try builder.state(Self.iterationsName, shape: [1])
            var inputs = [iterations]
            var targets = [iterations]
            for spec in parameters {
                guard let gradient = gradients[spec.value] else {
                    throw GraphError.invalidModel(reason: "the loss does not depend on the weight \(spec.name), so it "
                                                  + "cannot be trained (Keras would warn that its gradient does not exist)")
                }
                let slots = try optimizer.slotNames.map { try builder.state(Self.slotName($0, of: spec.name), shape: spec.shape) }
                inputs += [spec.value, gradient] + slots
                targets += [spec.value] + slots
            }
            builder.scope = "optimizer"
            let results = try builder.applyReturningAll(
                Operation(OptimizerStepOp(rule: optimizer, parameterCount: parameters.count)), inputs)
            for (target, result) in zip(targets, results) { try builder.update(target, with: result) }
            iterationsName = Self.iterationsName
        }
        self.graph = try builder.finish(outputs: lossValues + predictions)
        self.lossCount = lossValues.count
        self.iterations = iterationsName
    }
}
