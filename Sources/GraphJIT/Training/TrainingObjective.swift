import GraphJITIR

/// What a compiled model trains for, resolved as Keras resolves `compile`'s arguments: per output,
/// its Keras name, the loss term (from the logits when the output is a softmax or a sigmoid, as
/// Keras's TensorFlow backend does), its weight, and its metrics; and the optimizer's rule.
struct TrainingObjective {
    struct Output {
        /// The output layer's name (`dense_1`): the prefix of its log keys.
        let name: String
        let loss: Loss
        let weight: Float
        let metrics: [Metric]
    }

    let outputs: [Output]
    let rule: OptimizerRule

    init(configuration: TrainingConfiguration, outputNames: [String]) throws {
        if let byOutput = configuration.byOutput {
            func check(_ keys: some Collection<String>, _ what: String, complete: Bool) throws {
                let unknown = Set(keys).subtracting(outputNames)
                let missing = complete ? Set(outputNames).subtracting(keys) : []
                guard unknown.isEmpty, missing.isEmpty else {
                    throw TrainingError.invalidConfiguration(
                        "the \(what) dict's keys must be the model's output names (\(outputNames.joined(separator: ", ")))"
                            + (unknown.isEmpty ? "" : "; not outputs: \(unknown.sorted().joined(separator: ", "))")
                            + (missing.isEmpty ? "" : "; missing: \(missing.sorted().joined(separator: ", "))"))
                }
            }
            try check(byOutput.losses.keys, "loss", complete: true)
            try check(byOutput.metrics.keys, "metrics", complete: false)
            try check(byOutput.lossWeights?.keys ?? [:].keys, "loss_weights", complete: false)
            self.outputs = outputNames.map { name in
                Output(name: name, loss: byOutput.losses[name]!, weight: Float(byOutput.lossWeights?[name] ?? 1),
                       metrics: byOutput.metrics[name] ?? [])
            }
            guard self.outputs.allSatisfy({ $0.weight.isFinite && $0.weight >= 0 }) else {
                throw TrainingError.invalidConfiguration("loss weights must be finite and non-negative")
            }
            self.rule = try configuration.optimizer.rule()
            return
        }
        let count = outputNames.count
        let losses = configuration.losses.count == 1 ? Array(repeating: configuration.losses[0], count: count)
            : configuration.losses
        guard losses.count == count else {
            throw TrainingError.invalidConfiguration("\(configuration.losses.count) losses for a model with \(count) outputs "
                                                     + "(\(outputNames.joined(separator: ", "))): give one loss, or one per output")
        }
        let weights = configuration.lossWeights ?? Array(repeating: 1, count: count)
        guard weights.count == count, weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw TrainingError.invalidConfiguration("lossWeights \(weights) must hold \(count) finite, non-negative weights")
        }
        var metrics: [[Metric]]
        if count == 1 {
            metrics = [configuration.metrics]
        } else if configuration.metrics.isEmpty {
            metrics = Array(repeating: [], count: count)
        } else {
            guard configuration.metrics.count == count else {
                throw TrainingError.invalidConfiguration(
                    "for a model with multiple outputs, when providing the metrics as a list, it should have as many "
                        + "entries as the model has outputs (\(count): \(outputNames.joined(separator: ", "))); got "
                        + "\(configuration.metrics.count)")
            }
            metrics = configuration.metrics.map { [$0] }
        }
        self.outputs = (0..<count).map {
            Output(name: outputNames[$0], loss: losses[$0], weight: Float(weights[$0]), metrics: metrics[$0])
        }
        self.rule = try configuration.optimizer.rule()
    }

    /// The train step (`training`) or the test step of `forward`.
    func graph(extending forward: Graph, training: Bool) throws -> TrainingGraph {
        let terms = zip(outputs, forward.outputs).map { output, value in
            let (prediction, function) = Self.resolve(output.loss, of: value, in: forward)
            return LossTerm(prediction: prediction, function: function, weight: output.weight, outputName: output.name)
        }
        return try TrainingGraph(forward: forward, losses: terms, optimizer: training ? rule : nil)
    }

    /// The value and function a loss reads: Keras's TensorFlow backend takes the logits of an
    /// output made by `softmax` (over the last axis) or `sigmoid` for both cross-entropies.
    static func resolve(_ loss: Loss, of output: ValueID, in graph: Graph) -> (ValueID, LossFunction) {
        let logits = graph.logits(of: output)
        switch loss {
        case .categoricalCrossentropy:
            return logits.map { ($0, .categoricalCrossentropyFromLogits) } ?? (output, .categoricalCrossentropy)
        case .sparseCategoricalCrossentropy:
            return logits.map { ($0, .sparseCategoricalCrossentropyFromLogits) } ?? (output, .sparseCategoricalCrossentropy)
        case .meanSquaredError:
            return (output, .meanSquaredError)
        }
    }

    /// The log keys of a train or test step, in Keras's `evaluate` order: `loss`, the per-output
    /// losses (when there are several outputs), then the metrics.
    var keys: [String] {
        var keys = ["loss"]
        if outputs.count > 1 { keys += outputs.map { "\($0.name)_loss" } }
        for output in outputs {
            for metric in output.metrics { keys.append(outputs.count > 1 ? "\(output.name)_\(metric.rawValue)" : metric.rawValue) }
        }
        return keys
    }
}
