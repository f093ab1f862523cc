import GraphJITIR

/// Inputs and targets for training or evaluation, checked once against the model: counts, shapes,
/// sample counts, finiteness and label ranges. Batches are gathered rows.
struct TrainingData {
    let inputs: [Tensor]
    let targets: [Tensor]
    /// The number of samples.
    let count: Int

    /// Checks `inputs` against the model's input signature and `targets` against its outputs.
    init(inputs: [Tensor], targets: [Tensor], signature: [(name: String, shape: [Int])],
         objective: TrainingObjective, outputShapes: [[Int]]) throws {
        guard inputs.count == signature.count else { throw GraphError.inputCountMismatch(expected: signature.count, actual: inputs.count) }
        guard targets.count == objective.outputs.count else {
            throw TrainingError.targetMismatch("\(targets.count) target array\(targets.count == 1 ? "" : "s") for "
                                               + "\(objective.outputs.count) output\(objective.outputs.count == 1 ? "" : "s") "
                                               + "(\(objective.outputs.map(\.name).joined(separator: ", "))); give one per output, in order")
        }
        let count = inputs.first?.shape.first ?? 0
        for (tensor, (name, shape)) in zip(inputs, signature) {
            guard tensor.rank == shape.count + 1, Array(tensor.shape.dropFirst()) == shape else {
                throw GraphError.inputShapeMismatch(input: name, expected: [nil] + shape.map(Optional.some), actual: tensor.shape)
            }
            guard tensor.shape[0] == count else {
                throw TrainingError.targetMismatch("input '\(name)' has \(tensor.shape[0]) samples, the first input \(count)")
            }
        }
        guard count > 0 else { throw TrainingError.targetMismatch("there are no samples (the inputs have 0 rows)") }
        for (index, (target, output)) in zip(targets, objective.outputs).enumerated() {
            let perSample = outputShapes[index]
            let sparse = output.loss == .sparseCategoricalCrossentropy
            let expected = sparse ? [[count], [count, 1]] : [[count] + perSample]
            guard expected.contains(target.shape) else {
                throw TrainingError.targetMismatch("the target for '\(output.name)' has shape \(target.shape); expected "
                                                   + expected.map { "\($0)" }.joined(separator: " or ")
                                                   + " for \(count) samples and \(output.loss.rawValue)")
            }
            if sparse {
                let classes = perSample.last ?? 1
                if let bad = target.scalars.firstIndex(where: { !($0 >= 0 && $0 < Float(classes) && $0 == $0.rounded()) }) {
                    throw TrainingError.targetMismatch("the target for '\(output.name)' holds label \(target.scalars[bad]) in "
                                                       + "sample \(bad); labels must be integers in 0..<\(classes)")
                }
            }
        }
        for (tensor, (name, _)) in zip(inputs, signature) { try Self.checkFinite(tensor, "input '\(name)'") }
        for (tensor, output) in zip(targets, objective.outputs) { try Self.checkFinite(tensor, "the target for '\(output.name)'") }
        self.inputs = inputs
        self.targets = targets
        self.count = count
    }

    private init(inputs: [Tensor], targets: [Tensor], count: Int) {
        self.inputs = inputs
        self.targets = targets
        self.count = count
    }

    private static func checkFinite(_ tensor: Tensor, _ name: String) throws {
        if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
            throw TrainingError.nonFiniteData(array: name, sample: bad / max(tensor.elementCount / tensor.shape[0], 1))
        }
    }

    /// The samples at `rows`, in that order.
    func batch(_ rows: some Collection<Int>) -> (inputs: [Tensor], targets: [Tensor]) {
        (inputs.map { Self.gather($0, rows) }, targets.map { Self.gather($0, rows) })
    }

    /// The data split at `index`: rows before and from it (Keras's `validation_split` keeps the last part).
    func split(at index: Int) -> (TrainingData, TrainingData) {
        let (head, tail) = (batch(0..<index), batch(index..<count))
        return (TrainingData(inputs: head.inputs, targets: head.targets, count: index),
                TrainingData(inputs: tail.inputs, targets: tail.targets, count: count - index))
    }

    static func gather(_ tensor: Tensor, _ rows: some Collection<Int>) -> Tensor {
        let width = tensor.elementCount / max(tensor.shape[0], 1)
        var scalars: [Float] = []
        scalars.reserveCapacity(rows.count * width)
        for row in rows { scalars += tensor.scalars[(row * width)..<((row + 1) * width)] }
        return Tensor(shape: [rows.count] + tensor.shape.dropFirst(), uncheckedScalars: scalars)
    }
}
