import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
// MARK: - Prediction

extension Model {
    /// Runs the model on its inputs (one tensor per model input, samples first) in batches of
    /// `batchSize` samples, as Keras's `predict` does (default 32): the full batches share one
    /// compiled plan and the remainder has its own, so memory is bounded by the batch, not by the
    /// data. Returns one tensor per output, every sample in order.
    ///
    /// Inputs are checked against the model's input shapes; a mismatch throws
    /// `GraphError.inputShapeMismatch(input:expected:actual:)` naming the input.
    public func predict(_ inputs: [Tensor], batchSize: Int = 32, engine: Engine = .jit) throws -> [Tensor] {
        try runInBatches(inputs, extraInputs: 0, batchSize: batchSize, engine: engine, purpose: .prediction) { batch in
            try makeGraph(batchSize: batch)
        }
    }

    /// Runs the graph `makeGraph` builds for each batch size in batches of `batchSize` samples:
    /// the full batches share one plan, the remainder has its own. The graph's inputs are the
    /// model's, then `extraInputs` more of the same samples (a cotangent). Returns the graph's
    /// outputs with every sample in order.
    func runInBatches(_ inputs: [Tensor], extraInputs: Int, batchSize: Int, engine: Engine,
                      purpose: CompiledModelCache.Purpose, makeGraph: (Int) throws -> Graph) throws -> [Tensor] {
        guard batchSize >= 1 else { throw GraphError.invalidModel(reason: "the batch size must be at least 1, got \(batchSize)") }
        let modelInputs = try inputSignature().count
        guard inputs.count == modelInputs + extraInputs else {
            throw GraphError.inputCountMismatch(expected: modelInputs, actual: inputs.count - extraInputs)
        }
        let samples = try self.batchSize(of: Array(inputs.prefix(modelInputs)))
        for extra in inputs.dropFirst(modelInputs) where extra.shape.first != samples {
            throw GraphError.invalidModel(reason: "a tensor of shape \(extra.shape) goes with inputs of \(samples) samples")
        }
        func run(_ batch: [Tensor], samples: Int) throws -> [Tensor] {
            switch engine.kind {
            case let .reference(accumulation):
                return try ReferenceInterpreter(accumulation: accumulation)
                    .run(makeGraph(samples), inputs: batch, parameters: parameters)
            case let .jit(tier):
                return try compiledPlan(batchSize: samples, tier: tier, purpose: purpose) {
                    try makeGraph(samples)
                }.predict(batch)
            }
        }
        if samples <= batchSize { return try run(inputs, samples: samples) }
        var outputs: [(shape: [Int], scalars: [Float])] = []
        for start in stride(from: 0, to: samples, by: batchSize) {
            let end = min(start + batchSize, samples)
            let batch = try inputs.map { try $0.rows(start ..< end) }
            let results = try run(batch, samples: end - start)
            if outputs.isEmpty {
                outputs = results.map { result in
                    var scalars: [Float] = []
                    scalars.reserveCapacity(result.elementCount / max(end - start, 1) * samples)
                    return ([samples] + result.shape.dropFirst(), scalars)
                }
            }
            for (index, result) in results.enumerated() { outputs[index].scalars += result.scalars }
        }
        return outputs.map { Tensor(shape: $0.shape, uncheckedScalars: $0.scalars) }
    }

    /// Runs a single-input, single-output model (in batches of `batchSize`, as `predict(_:batchSize:engine:)`).
    public func predict(_ input: Tensor, batchSize: Int = 32, engine: Engine = .jit) throws -> Tensor {
        let outputs = try predict([input], batchSize: batchSize, engine: engine)
        guard outputs.count == 1 else {
            throw GraphError.invalidModel(
                reason: "the model has \(outputs.count) outputs; use predict(_: [Tensor]) to get them all")
        }
        return outputs[0]
    }

    /// How many compiled plans (per purpose: prediction, train step, test step, explanations) the model keeps;
    /// beyond it the least recently used is released. Default 8.
    public var compiledPlanLimit: Int {
        get { compiledCache.capacity }
        set { compiledCache.capacity = newValue }
    }

    /// How many compiled plans the model holds now.
    public var compiledPlanCount: Int { compiledCache.count }

    /// Releases every compiled plan (their kernels and arenas); weights and optimizer state stay,
    /// and the next call compiles what it needs again.
    public func releaseCompiledPlans() {
        if parametersNeedSync { syncParametersFromCompiledPlans() }
        compiledCache.removePlans()
    }

    /// The compiled JIT plan for a batch size (compiled on first use, then cached).
    public func compiled(batchSize: Int, tier: CompilationTier = .automatic) throws -> CompiledModel {
        try compiledPlan(batchSize: batchSize, tier: tier, purpose: .prediction) { try makeGraph(batchSize: batchSize) }
    }

    /// The cached plan of `purpose` for a batch size and tier, compiling `makeGraph`'s graph on first use.
    func compiledPlan(batchSize: Int, tier: CompilationTier, purpose: CompiledModelCache.Purpose,
                      makeGraph: () throws -> Graph) throws -> CompiledModel {
        try compiledCache.model(batchSize: batchSize, tier: tier, purpose: purpose) {
            try ModelCompiler().compile(makeGraph(), parameters: parameters, tier: tier, store: compiledCache.storage)
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
