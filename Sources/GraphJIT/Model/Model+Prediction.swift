import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
// MARK: - Prediction

extension Model {
    /// Runs the model on a batch: one tensor per model input (batch first), one per output.
    ///
    /// Inputs are checked against the model's input shapes; a mismatch throws
    /// ``GraphError/inputShapeMismatch(input:expected:actual:)`` naming the input.
    public func predict(_ inputs: [Tensor], engine: Engine = .jit) throws -> [Tensor] {
        let batchSize = try batchSize(of: inputs)
        switch engine.kind {
        case let .reference(accumulation):
            let graph = try makeGraph(batchSize: batchSize)
            return try ReferenceInterpreter(accumulation: accumulation)
                .run(graph, inputs: inputs, parameters: parameters)
        case let .jit(tier):
            return try compiled(batchSize: batchSize, tier: tier).predict(inputs)
        }
    }

    /// Runs a single-input, single-output model on a batch.
    public func predict(_ input: Tensor, engine: Engine = .jit) throws -> Tensor {
        let outputs = try predict([input], engine: engine)
        guard outputs.count == 1 else {
            throw GraphError.invalidModel(
                reason: "the model has \(outputs.count) outputs; use predict(_: [Tensor]) to get them all")
        }
        return outputs[0]
    }

    /// The compiled JIT plan for a batch size (compiled on first use, then cached).
    public func compiled(batchSize: Int, tier: CompilationTier = .automatic) throws -> CompiledModel {
        try compiledCache.model(batchSize: batchSize, tier: tier) {
            try ModelCompiler().compile(makeGraph(batchSize: batchSize), parameters: parameters, tier: tier,
                                        store: compiledCache.storage)
        }
    }

    /// The batch size shared by all inputs, checking each input's per-sample shape.
    private func batchSize(of inputs: [Tensor]) throws -> Int {
        let signature = try inputSignature()
        guard inputs.count == signature.count else {
            throw GraphError.inputCountMismatch(expected: signature.count, actual: inputs.count)
        }
        var batch: Int?
        for (tensor, (name, shape)) in zip(inputs, signature) {
            let expected: [Int?] = [batch] + shape.map(Optional.some)
            guard tensor.rank == shape.count + 1, Array(tensor.shape.dropFirst()) == shape,
                  tensor.shape[0] > 0, batch == nil || tensor.shape[0] == batch
            else {
                throw GraphError.inputShapeMismatch(input: name, expected: expected, actual: tensor.shape)
            }
            batch = tensor.shape[0]
        }
        return batch ?? 1
    }
}
