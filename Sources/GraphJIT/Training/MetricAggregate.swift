import GraphJITIR

/// Running values of one epoch (or one `evaluate`), as Keras's metric objects keep them: the total
/// loss weighted by batch size; each per-output loss as the plain mean of its per-batch values
/// (Keras weights those by a batch size its compiled step does not know, so each batch counts
/// once); accuracy as matches over samples.
struct MetricAggregate {
    let objective: TrainingObjective
    private var lossSum: Float = 0
    private var samples: Float = 0
    private var outputLossSums: [Float]
    private var batches: Float = 0
    private var matches: [Float]
    private var counted: [Float]

    init(objective: TrainingObjective) {
        self.objective = objective
        outputLossSums = Array(repeating: 0, count: objective.outputs.count)
        matches = Array(repeating: 0, count: objective.outputs.count)
        counted = Array(repeating: 0, count: objective.outputs.count)
    }

    /// The total loss of one batch: `Σ w_k L_k` in float32 (a weight of 1 multiplies exactly, so
    /// without weights this is Keras's plain sum).
    func totalLoss(_ losses: [Float]) -> Float {
        zip(losses, objective.outputs).reduce(0) { $0 + $1.0 * $1.1.weight }
    }

    /// Adds one batch: its per-output losses, predictions and targets.
    mutating func add(losses: [Float], predictions: [Tensor], targets: [Tensor]) {
        let rows = Float(predictions[0].shape[0])
        lossSum += totalLoss(losses) * rows
        samples += rows
        batches += 1
        for (index, output) in objective.outputs.enumerated() {
            outputLossSums[index] += losses[index]
            if output.metrics.contains(.accuracy) {
                let (hits, total) = Self.accuracy(prediction: predictions[index], target: targets[index])
                matches[index] += hits
                counted[index] += total
            }
        }
    }

    /// The logs so far, keyed as Keras keys them.
    var logs: [String: Double] {
        var logs = ["loss": Double(samples > 0 ? lossSum / samples : 0)]
        let several = objective.outputs.count > 1
        for (index, output) in objective.outputs.enumerated() {
            if several { logs["\(output.name)_loss"] = Double(batches > 0 ? outputLossSums[index] / batches : 0) }
            if output.metrics.contains(.accuracy) {
                logs[several ? "\(output.name)_accuracy" : "accuracy"] = Double(counted[index] > 0 ? matches[index] / counted[index] : 0)
            }
        }
        return logs
    }

    /// Matches and the number of comparisons, resolved as Keras resolves `accuracy`: binary for a
    /// one-unit prediction, sparse for integer labels, categorical (first maximum wins) otherwise.
    static func accuracy(prediction: Tensor, target: Tensor) -> (Float, Float) {
        let classes = prediction.shape.last!
        let rows = prediction.elementCount / classes
        let width = target.elementCount / rows
        func argmax(_ values: ArraySlice<Float>) -> Int {
            var best = values.startIndex
            for index in values.indices where values[index] > values[best] { best = index }
            return best - values.startIndex
        }
        var hits: Float = 0
        if classes == 1 {
            for r in 0..<rows where (prediction.scalars[r] > 0.5 ? 1 : 0) == target.scalars[r * width] { hits += 1 }
            return (hits, Float(rows))
        }
        for r in 0..<rows {
            let predicted = argmax(prediction.scalars[(r * classes)..<((r + 1) * classes)])
            let actual = width == 1 ? Int(target.scalars[r]) : argmax(target.scalars[(r * width)..<((r + 1) * width)])
            if predicted == actual { hits += 1 }
        }
        return (hits, Float(rows))
    }
}
