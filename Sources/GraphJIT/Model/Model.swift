import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

/// A Keras-style model: layers between symbolic inputs and outputs, with its weights.
///
/// Declare it with the functional API (`Model(inputs:outputs:)`) or as a ``Sequential`` stack.
/// Construction never throws; a malformed model reports its error (naming the layer and the
/// shapes) from the first call that needs the graph: ``summary(showingCompileConfiguration:)``, ``makeGraph(batchSize:)``,
/// `predict(_:batchSize:engine:)`.
///
/// Concurrency: `predict`, `summary()`, `makeGraph` and the compiled models may be called from
/// concurrent tasks (compiled plans, their weights and their caches are locked). Calls that change
/// the model (`compile`, `fit` and the other training calls, weight setters, `save`/`load` of weights)
/// must not overlap with any other call on the same model.
public class Model: @unchecked Sendable {  // See "Concurrency" above: what may run concurrently is locked.
    /// The model's name (`functional`, `sequential`, or the user's).
    public let name: String
    let topology: Result<ModelTopology, GraphError>
    /// The model's weights, initialized as Keras does by default from ``seed``; after training,
    /// the trained ones.
    public internal(set) var parameters: ParameterStore {
        get {
            if parametersNeedSync { syncParametersFromCompiledPlans() }
            return storedParameters
        }
        set {
            storedParameters = newValue
            parametersNeedSync = false
        }
    }
    var storedParameters: ParameterStore
    /// Whether JIT training changed the weights in the compiled plans since ``storedParameters`` was read.
    var parametersNeedSync = false
    /// Set by a callback to end `fit` after the current epoch (Keras's `model.stop_training`).
    public var stopTraining = false
    /// The optimizer's states for the reference engine and what the train steps were built from.
    let trainingState = TrainingState()
    /// The seed the default weights were drawn from.
    public let seed: UInt64
    /// What ``compile(optimizer:loss:metrics:lossWeights:)`` recorded, if it was called.
    public internal(set) var trainingConfiguration: TrainingConfiguration?
    /// Compiled JIT plans by batch size and tier, created on first use.
    let compiledCache = CompiledModelCache()
    /// How the Keras file the model was read from registered its custom layers, kept for saving.
    var kerasCustomLayers: [String: KerasCustomLayerOrigin] = [:]

    /// Creates a model from its symbolic inputs and outputs, with weights drawn from `seed`.
    public init(inputs: [SymbolicTensor], outputs: [SymbolicTensor], name: String? = nil, seed: UInt64 = 0) {
        self.name = name ?? "functional"
        self.seed = seed
        let topology: Result<ModelTopology, GraphError> = Result {
            try ModelTopology(inputs: inputs, outputs: outputs)
        }.mapError { $0 as? GraphError ?? .invalidModel(reason: "\($0)") }
        self.storedParameters = ParameterStore(order: [], tensors: [:])
        // The weights are drawn only when they fit in the memory budget; otherwise every later
        // call reports the budget error (construction itself never throws).
        var checked = topology
        if let graph = try? topology.get().makeGraph(batchSize: 1).graph {
            let floats = graph.parameters.reduce(0) { Int.saturatingSum($0, $1.shape.elementCount) }
            do {
                try MemoryBudget.check(MemoryBudget.bytes(ofFloats: floats),
                                       for: "the weights of model '\(self.name)' (\(floats) parameters)")
                self.storedParameters = Self.initialParameters(for: graph, seed: seed)
            } catch let error as GraphError {
                checked = .failure(error)
            } catch {
                checked = .failure(.invalidModel(reason: "\(error)"))
            }
        }
        self.topology = checked
    }

    // MARK: Configuration

    /// Configures training, as Keras's `compile`: the optimizer, one loss for every output, the
    /// metrics (for several outputs, one per output), and optional per-output loss weights.
    /// Compiling again starts a fresh optimizer (its moments and step count at zero).
    public func compile(optimizer: Optimizer, loss: Loss, metrics: [Metric] = [], lossWeights: [Double]? = nil) {
        compile(TrainingConfiguration(optimizer: optimizer, losses: [loss], lossWeights: lossWeights, metrics: metrics))
    }

    /// Configures training with one loss per output, in output order.
    public func compile(optimizer: Optimizer, losses: [Loss], metrics: [Metric] = [], lossWeights: [Double]? = nil) {
        compile(TrainingConfiguration(optimizer: optimizer, losses: losses, lossWeights: lossWeights, metrics: metrics))
    }

    /// Configures training with Keras's dict form: losses, metrics and loss weights keyed by output
    /// name (``outputNames()``). Every output needs a loss; a name that is not an output is an error
    /// when training starts.
    public func compile(optimizer: Optimizer, losses: [String: Loss], metrics: [String: [Metric]] = [:],
                        lossWeights: [String: Double]? = nil) {
        compile(TrainingConfiguration(optimizer: optimizer, losses: losses, metrics: metrics, lossWeights: lossWeights))
    }

    func compile(_ configuration: TrainingConfiguration) {
        trainingConfiguration = configuration
        resetOptimizer()
    }

    // MARK: Graph

    /// Names and per-sample shapes of the model inputs.
    public func inputSignature() throws -> [(name: String, shape: [Int])] {
        try topology.get().inputs.map { ($0.name, $0.shape) }
    }

    /// Layer names in application order.
    public func layerNames() throws -> [String] { try topology.get().layers.map(\.name) }

    /// The static graph of the model for a batch size: every shape inferred and checked.
    public func makeGraph(batchSize: Int = 1) throws -> Graph {
        try topology.get().makeGraph(batchSize: batchSize).graph
    }

    // MARK: Weights

    /// Replaces every weight. The names and shapes must match the model's exactly.
    ///
    /// Plans already compiled stay: the new weights are written into their buffers, and the
    /// formats derived from them (packed GEMM operands) are remade before the next call.
    public func setParameters(_ tensors: [String: Tensor], source: String = "the given tensors") throws {
        _ = try makeGraph(batchSize: 1)  // a model whose shapes do not fit reports that, not the weights
        try parameters.replace(with: tensors, source: source)
        compiledCache.storage.write(tensors)
    }

    /// Loads every weight from a safetensors file.
    public func loadWeights(from url: URL) throws {
        let file = try Safetensors.read(contentsOf: url)
        try setParameters(file.tensors, source: url.lastPathComponent)
    }

    /// Saves every weight to a safetensors file: `F32`, and a bf16 model's kernels as `BF16`.
    public func saveWeights(to url: URL) throws {
        // A bf16 model's kernels as BF16 (their values exactly, in half the bytes); the rest F32.
        let bfloat16 = Set(Self.compressedKernels(in: try makeGraph(batchSize: 1)).filter { $0.value.mode == .bf16 }.keys)
        try Safetensors.write(parameters.dictionary, bfloat16: bfloat16, to: url,
                              metadata: ["format": "graphjit", "model": name])
    }

    static func initialParameters(for graph: Graph, seed: UInt64) -> ParameterStore {
        var generator = SeededGenerator(seed: seed)
        var tensors: [String: Tensor] = [:]
        for spec in graph.parameters {
            tensors[spec.name] = spec.initializer.makeTensor(shape: spec.shape, using: &generator)
        }
        return ParameterStore(order: graph.parameters.map(\.name), tensors: tensors)
    }
}

/// A plain stack of layers, one input and one output, as `keras.Sequential`:
///
///     let model = Sequential(inputShape: [64]) {
///         Dense(units: 128, activation: .relu)
///         Dense(units: 10, activation: .softmax)
///     }
public final class Sequential: Model, @unchecked Sendable {  // As Model.
    /// Creates the stack on an input of `inputShape` (per sample, no batch axis).
    public convenience init(inputShape: [Int], name: String? = nil, seed: UInt64 = 0,
                            @LayerBuilder _ layers: () -> [any Layer]) {
        self.init(inputShape: inputShape, inputName: nil, name: name, seed: seed, layers: layers())
    }

    /// The stack with a named input (as a Keras file names its `InputLayer`).
    init(inputShape: [Int], inputName: String?, name: String?, seed: UInt64, layers: [any Layer]) {
        let input = Input(shape: inputShape, name: inputName)
        let output = layers.reduce(input) { tensor, layer in layer(tensor) }
        super.init(inputs: [input], outputs: [output], name: name ?? "sequential", seed: seed)
    }
}
