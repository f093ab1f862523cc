import Foundation
import GraphJITCompiler
import GraphJITIR
import GraphJITRuntime

// MARK: - Training

extension Model {
    /// Keras's output names (`dense_1`, `dense_2`): the prefixes of per-output log keys.
    public func outputNames() throws -> [String] { try topology.get().outputNames }

    /// One optimizer step on one batch, as Keras's `train_on_batch(return_dict=True)`: the loss and
    /// metrics of this batch, computed before the update.
    ///
    /// - Throws: ``TrainingError`` for targets that do not fit, NaN or infinite data, or a step
    ///   whose gradients are not finite (then no weight changes).
    @discardableResult
    public func trainOnBatch(_ inputs: [Tensor], _ targets: [Tensor], engine: Engine = .jit) throws -> [String: Double] {
        try batchLogs(inputs, targets, training: true, engine: engine)
    }

    /// The loss and metrics of one batch without training, as Keras's `test_on_batch(return_dict=True)`.
    public func testOnBatch(_ inputs: [Tensor], _ targets: [Tensor], engine: Engine = .jit) throws -> [String: Double] {
        try batchLogs(inputs, targets, training: false, engine: engine)
    }

    private func batchLogs(_ inputs: [Tensor], _ targets: [Tensor], training: Bool, engine: Engine) throws -> [String: Double] {
        let (objective, data) = try prepare(inputs, targets)
        var aggregate = MetricAggregate(objective: objective)
        try step(data.inputs, data.targets, objective: objective, training: training, engine: engine, into: &aggregate,
                 epoch: 0, index: 0)
        return aggregate.logs
    }

    /// The loss and metrics over `inputs` in batches, as Keras's `evaluate(return_dict=True)`.
    public func evaluate(_ inputs: [Tensor], _ targets: [Tensor], batchSize: Int = 32, verbose: Verbosity = .silent,
                         engine: Engine = .jit) throws -> [String: Double] {
        let (objective, data) = try prepare(inputs, targets)
        return try evaluate(data, objective: objective, batchSize: batchSize, verbose: verbose, engine: engine)
    }

    /// The order Keras's `evaluate` returns its values in, without `return_dict`: `loss`, the
    /// per-output losses, then the metrics.
    public func metricsNames() throws -> [String] {
        guard let configuration = trainingConfiguration else { throw TrainingError.notCompiled }
        return try TrainingObjective(configuration: configuration, outputNames: outputNames()).keys
    }

    /// Trains the model, as Keras's `fit`: `epochs` passes over the data in batches of `batchSize`
    /// (the last batch may be smaller), shuffled each epoch with a generator seeded by `seed`
    /// unless `shuffle` is off. `validationSplit` keeps the last fraction of the samples (taken
    /// before shuffling) for validation; `validationData` gives them instead. After each epoch
    /// the validation logs are added with the prefix `val_`.
    ///
    /// - Returns: the ``History`` of every epoch's logs.
    @discardableResult
    public func fit(_ inputs: [Tensor], _ targets: [Tensor], batchSize: Int = 32, epochs: Int = 1, shuffle: Bool = true,
                    validationSplit: Double = 0, validationData: (inputs: [Tensor], targets: [Tensor])? = nil,
                    verbose: Verbosity = .auto, callbacks: [any Callback] = [], seed: UInt64 = 0,
                    engine: Engine = .jit) throws -> History {
        guard epochs >= 0 else { throw TrainingError.invalidConfiguration("epochs must be at least 0, got \(epochs)") }
        guard batchSize > 0 else { throw TrainingError.invalidConfiguration("batch size must be positive, got \(batchSize)") }
        guard validationSplit >= 0, validationSplit < 1 else {
            throw TrainingError.invalidConfiguration("validationSplit must be in [0, 1), got \(validationSplit)")
        }
        let (objective, all) = try prepare(inputs, targets)
        var training = all
        var validation: TrainingData?
        if let validationData {
            validation = try prepare(validationData.inputs, validationData.targets).data
        } else if validationSplit > 0 {
            let splitAt = Int((Double(all.count) * (1 - validationSplit)).rounded(.down))
            guard splitAt > 0, splitAt < all.count else {
                throw TrainingError.invalidConfiguration("validationSplit \(validationSplit) of \(all.count) samples leaves "
                                                         + "\(splitAt) for training and \(all.count - splitAt) for validation")
            }
            (training, validation) = all.split(at: splitAt)
        }
        let steps = (training.count + batchSize - 1) / batchSize
        var history = History(params: ["verbose": verbose == .silent ? 0 : (verbose == .oneLinePerEpoch ? 2 : 1),
                                       "epochs": epochs, "steps": steps])
        stopTraining = false
        for callback in callbacks { try callback.onTrainBegin(model: self) }
        var generator = SeededGenerator(seed: seed)
        for epoch in 0..<epochs {
            if verbose != .silent && epochs > 1 && (verbose.showsBar || verbose == .oneLinePerEpoch) {
                print("Epoch \(epoch + 1)/\(epochs)")
            }
            var order = Array(0..<training.count)
            if shuffle { order.shuffle(using: &generator) }
            var aggregate = MetricAggregate(objective: objective)
            var bar = ProgressBar(target: steps, redraws: verbose.showsBar)
            for index in 0..<steps {
                let rows = order[(index * batchSize)..<min((index + 1) * batchSize, training.count)]
                let batch = training.batch(rows)
                try step(batch.inputs, batch.targets, objective: objective, training: true, engine: engine,
                         into: &aggregate, epoch: epoch, index: index)
                bar.update(index + 1, logs: aggregate.logs)
            }
            var logs = aggregate.logs
            if let validation {
                let validationLogs = try evaluate(validation, objective: objective, batchSize: batchSize, verbose: .silent,
                                                  engine: engine)
                for (key, value) in validationLogs { logs["val_" + key] = value }
            }
            if verbose == .oneLinePerEpoch { bar.update(steps, logs: logs, final: true) }
            history.append(logs, epoch: epoch)
            for callback in callbacks { try callback.onEpochEnd(epoch, logs: logs, model: self) }
            if stopTraining { break }
        }
        for callback in callbacks { try callback.onTrainEnd(model: self) }
        return history
    }

    // MARK: Steps

    private func prepare(_ inputs: [Tensor], _ targets: [Tensor]) throws -> (objective: TrainingObjective, data: TrainingData) {
        guard let configuration = trainingConfiguration else { throw TrainingError.notCompiled }
        let topology = try topology.get()
        if let dropout = topology.layers.first(where: { ($0.layer as? Dropout).map { $0.rate > 0 } ?? false }) {
            throw TrainingError.unsupported("layer '\(dropout.name)' is a Dropout with a non-zero rate; GraphJIT's train "
                                            + "step has no random dropout yet (Keras's masks could not be reproduced anyway)")
        }
        let objective = try TrainingObjective(configuration: configuration, outputNames: topology.outputNames)
        let forward = try makeGraph(batchSize: 1)
        let outputShapes = forward.outputs.map { Array(forward[$0].shape.dropFirst()) }
        let data = try TrainingData(inputs: inputs, targets: targets, signature: inputSignature(), objective: objective,
                                    outputShapes: outputShapes)
        return (objective, data)
    }

    private func evaluate(_ data: TrainingData, objective: TrainingObjective, batchSize: Int, verbose: Verbosity,
                          engine: Engine) throws -> [String: Double] {
        guard batchSize > 0 else { throw TrainingError.invalidConfiguration("batch size must be positive, got \(batchSize)") }
        var aggregate = MetricAggregate(objective: objective)
        let steps = (data.count + batchSize - 1) / batchSize
        var bar = ProgressBar(target: steps, redraws: verbose.showsBar)
        for index in 0..<steps {
            let batch = data.batch((index * batchSize)..<min((index + 1) * batchSize, data.count))
            try step(batch.inputs, batch.targets, objective: objective, training: false, engine: engine, into: &aggregate,
                     epoch: 0, index: index)
            bar.update(index + 1, logs: aggregate.logs)
        }
        return aggregate.logs
    }

    /// Runs one train or test step on a batch and adds its losses and metrics to `aggregate`.
    private func step(_ inputs: [Tensor], _ targets: [Tensor], objective: TrainingObjective, training: Bool,
                      engine: Engine, into aggregate: inout MetricAggregate, epoch: Int, index: Int) throws {
        let batchSize = inputs[0].shape[0]
        let outputs: [Tensor]
        var skipped = false
        switch engine.kind {
        case let .reference(accumulation):
            let graph = try objective.graph(extending: makeGraph(batchSize: batchSize), training: training)
            let interpreter = ReferenceInterpreter(accumulation: accumulation)
            if training {
                var updated = parameters
                var states = trainingState.referenceStates
                let before = states[TrainingGraph.iterationsName]?.scalars[0] ?? 0
                outputs = try interpreter.step(graph.graph, inputs: inputs + targets, parameters: &updated, states: &states)
                skipped = (states[TrainingGraph.iterationsName]?.scalars[0] ?? 0) == before
                if !skipped {
                    parameters = updated
                    trainingState.referenceStates = states
                    compiledCache.storage.write(updated.dictionary)
                }
            } else {
                outputs = try interpreter.run(graph.graph, inputs: inputs + targets, parameters: parameters,
                                              states: trainingState.referenceStates)
            }
        case let .jit(tier):
            let compiled = try compiledStep(objective: objective, batchSize: batchSize, training: training, tier: tier)
            let before = compiled.currentValue(of: TrainingGraph.iterationsName)?.scalars[0]
            outputs = try compiled.predict(inputs + targets)
            if training {
                skipped = compiled.currentValue(of: TrainingGraph.iterationsName)?.scalars[0] == before
                parametersNeedSync = true
            }
        }
        let count = objective.outputs.count
        let losses = outputs[..<count].map { $0.scalars[0] }
        let total = aggregate.totalLoss(Array(losses))
        if skipped || !total.isFinite {
            throw TrainingError.diverged(epoch: epoch, step: index, loss: Double(total), weightsUnchanged: skipped)
        }
        aggregate.add(losses: Array(losses), predictions: Array(outputs[count...]), targets: targets)
    }

    /// The compiled train step (or test step) for a batch size: forward, losses, backward and the
    /// optimizer's update in one module (what `fit` runs; its `module.source` is the generated C).
    public func compiledTrainStep(batchSize: Int, training: Bool = true,
                                  tier: CompilationTier = .automatic) throws -> CompiledModel {
        guard let configuration = trainingConfiguration else { throw TrainingError.notCompiled }
        let objective = try TrainingObjective(configuration: configuration, outputNames: outputNames())
        return try compiledStep(objective: objective, batchSize: batchSize, training: training, tier: tier)
    }

    private func compiledStep(objective: TrainingObjective, batchSize: Int, training: Bool,
                              tier: CompilationTier) throws -> CompiledModel {
        try compiledCache.model(batchSize: batchSize, tier: tier, purpose: training ? .trainStep : .testStep) {
            let graph = try objective.graph(extending: makeGraph(batchSize: batchSize), training: training).graph
            trainingState.stateNames.formUnion(graph.states.map(\.name))
            return try ModelCompiler().compile(graph, parameters: parameters, tier: tier, store: compiledCache.storage)
        }
    }

    // MARK: Optimizer state

    /// A fresh optimizer: moments and step count at zero, train steps rebuilt from the configuration.
    func resetOptimizer() {
        if parametersNeedSync { syncParametersFromCompiledPlans() }
        trainingState.referenceStates = [:]
        compiledCache.storage.removePresets()
        compiledCache.removeTrainingPlans()
        let zeros = trainingState.stateNames.reduce(into: [String: Tensor]()) { result, name in
            if let current = compiledCache.storage.read(name) { result[name] = Tensor.zeros(current.shape) }
        }
        compiledCache.storage.write(zeros)
    }

    /// Changes the optimizer's learning rate and keeps its state (moments, step count), as setting
    /// Keras's `optimizer.learning_rate` does. The train steps are rebuilt with the new rate.
    public func setLearningRate(_ learningRate: Double) throws {
        guard let configuration = trainingConfiguration else { throw TrainingError.notCompiled }
        _ = try configuration.optimizer.withLearningRate(learningRate).rule()  // refuses a rate Keras would
        if parametersNeedSync { syncParametersFromCompiledPlans() }
        trainingConfiguration = configuration.replacingOptimizer(configuration.optimizer.withLearningRate(learningRate))
        compiledCache.removeTrainingPlans()  // the rate is a constant in their C; the states stay in the store
    }

    /// Resumes an optimizer (read from a Keras file): its step count and its slots, named as
    /// ``GraphJITIR/TrainingGraph/slotName(_:of:)`` names them. Both engines continue from them.
    func restoreOptimizer(iterations: Int64, slots: [String: Tensor]) {
        var states = slots
        states[TrainingGraph.iterationsName] = Tensor(shape: [1], uncheckedScalars: [Float(iterations)])
        trainingState.referenceStates = states
        compiledCache.storage.preset(states)
    }

    /// The optimizer's step count and slots as the engine that trained last holds them, or `nil`
    /// before the first step (nothing to save).
    func optimizerState() -> (iterations: Int64, slots: [String: Tensor])? {
        guard let configuration = trainingConfiguration, let rule = try? configuration.optimizer.rule() else { return nil }
        func current(_ name: String) -> Tensor? {
            compiledCache.storage.read(name) ?? trainingState.referenceStates[name]
        }
        // The JIT's plans hold the states once a train step bound them; otherwise the reference's.
        let jitIterations = compiledCache.storage.read(TrainingGraph.iterationsName)?.scalars[0]
        let referenceIterations = trainingState.referenceStates[TrainingGraph.iterationsName]?.scalars[0]
        let useJIT = (jitIterations ?? -1) >= (referenceIterations ?? -1)
        guard let iterations = useJIT ? jitIterations : referenceIterations else { return nil }
        var slots: [String: Tensor] = [:]
        for name in parameters.names {
            for slot in rule.slotNames {
                let key = TrainingGraph.slotName(slot, of: name)
                slots[key] = (useJIT ? compiledCache.storage.read(key) : trainingState.referenceStates[key]) ?? current(key)
            }
        }
        return (Int64(iterations), slots)
    }

    /// Reads the weights the JIT's train steps updated back into ``parameters``.
    func syncParametersFromCompiledPlans() {
        parametersNeedSync = false
        var tensors = storedParameters.dictionary
        for name in storedParameters.names {
            if let current = compiledCache.storage.read(name) { tensors[name] = current }
        }
        storedParameters = ParameterStore(order: storedParameters.names, tensors: tensors)
    }
}
