import Foundation
@testable import GraphJIT
@testable import GraphJITIR

/// One case of the Keras training fixtures in `Fixtures/Training/` (written by
/// `Tests/KerasFixtures/make_training_fixtures.py`): a small model, its initial weights and data,
/// and what Keras recorded while training it.
struct TrainingFixture: Sendable {
    struct Manifest: Decodable {
        let keras: String
        let tensorflow: String
        let cases: [Case]
    }

    struct OptimizerSpec: Decodable {
        let name: String
        let learning_rate: Double
        let beta_1: Double?
        let beta_2: Double?
        let epsilon: Double?
        let momentum: Double?
        let nesterov: Bool?
        let rho: Double?
        let centered: Bool?
    }

    /// A string, or a list of strings (Keras's `loss` argument).
    enum LossSpec: Decodable {
        case one(String)
        case each([String])
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) { self = .one(one) } else { self = .each(try container.decode([String].self)) }
        }
    }

    struct FitRecord: Decodable {
        let epochs: Int
        let batchSize: Int
        let validationSplit: Double
        let history: [String: [Double]]
        let evaluate: [String: Double]
    }

    struct Case: Decodable {
        let name: String
        let file: String
        let optimizer: OptimizerSpec
        let loss: LossSpec
        let lossWeights: [Double]?
        let metrics: [String]
        let batchSize: Int
        let batches: [[Int]]
        let steps: [[String: Double]]
        let fit: FitRecord
        let inputShapes: [[Int]]
        let outputShapes: [[Int]]
    }

    static var directory: URL {
        get throws { try KerasFixture.directory.appending(path: "Training") }
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: directory.appending(path: "training_manifest.json")))
    }

    static let caseNames = [
        "cnn", "cnn_same_strided", "lstm", "lstm_sequences_attention", "attention", "multitask", "multitask_weighted",
        "mlp_activations", "mlp_sgd", "mlp_sgd_plain", "mlp_rmsprop", "mlp_sparse", "mlp_mse", "mlp_sigmoid_cce",
        "mlp_sigmoid_flatten_cce", "crossmodal",
    ]

    let entry: Case
    let tensors: [String: Tensor]

    static func load(_ name: String) throws -> TrainingFixture {
        guard let entry = try manifest().cases.first(where: { $0.name == name }) else {
            throw FixtureError.missing("case '\(name)' in training_manifest.json")
        }
        let file = try Safetensors.read(contentsOf: directory.appending(path: entry.file))
        return TrainingFixture(entry: entry, tensors: file.tensors)
    }

    func tensor(_ key: String) throws -> Tensor {
        guard let tensor = tensors[key] else { throw FixtureError.missing("\(key) in \(entry.file)") }
        return tensor
    }

    /// The weights under `prefix` (`initial`, `step1`, `fit`), named as the model names them.
    func weights(_ prefix: String) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (key, tensor) in tensors where key.hasPrefix(prefix + ".") { result[String(key.dropFirst(prefix.count + 1))] = tensor }
        return result
    }

    var inputs: [Tensor] { get throws { try entry.inputShapes.indices.map { try tensor("input.\($0)") } } }
    var targets: [Tensor] { get throws { try entry.outputShapes.indices.map { try tensor("target.\($0)") } } }

    var optimizer: Optimizer {
        let spec = entry.optimizer
        switch spec.name {
        case "sgd": return .sgd(learningRate: spec.learning_rate, momentum: spec.momentum ?? 0, nesterov: spec.nesterov ?? false)
        case "rmsprop":
            return .rmsprop(learningRate: spec.learning_rate, rho: spec.rho ?? 0.9, momentum: spec.momentum ?? 0,
                            epsilon: spec.epsilon ?? 1e-7, centered: spec.centered ?? false)
        default: return .adam(learningRate: spec.learning_rate, beta1: spec.beta_1 ?? 0.9, beta2: spec.beta_2 ?? 0.999,
                              epsilon: spec.epsilon ?? 1e-7)
        }
    }

    /// The case's model written with GraphJIT, compiled as Keras compiled it, with its initial weights.
    func makeModel() throws -> Model {
        let model: Model
        switch entry.name {
        case "cnn":
            model = Sequential(inputShape: [8, 8, 3]) {
                Conv2D(filters: 4, kernelSize: [3, 3], activation: .relu)
                MaxPooling2D(poolSize: [2, 2])
                Flatten()
                Dense(units: 16, activation: .relu)
                Dense(units: 10, activation: .softmax)
            }
        case "cnn_same_strided":
            model = Sequential(inputShape: [9, 9, 3]) {
                Conv2D(filters: 4, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)
                MaxPooling2D(poolSize: [2, 2], padding: .same)
                Flatten()
                Dense(units: 6, activation: .softmax)
            }
        case "lstm":
            model = Sequential(inputShape: [6, 4]) {
                LSTM(units: 8)
                Dense(units: 10, activation: .softmax)
            }
        case "lstm_sequences_attention":
            model = Sequential(inputShape: [5, 4]) {
                LSTM(units: 6, returnSequences: true)
                AttentionLayer(units: 4)
                Dense(units: 3, activation: .softmax)
            }
        case "attention":
            model = Sequential(inputShape: [6, 5]) {
                AttentionLayer(units: 4)
                Dense(units: 10, activation: .softmax)
            }
        case "multitask", "multitask_weighted":
            model = TutorialModel.multitask(inputSize: 8, hidden: 16)
        case "crossmodal":
            model = TutorialModel.crossmodal(imageShape: [8, 8, 3], timesteps: 5, features: 4, filters: 4, units: 6, hidden: 12)
        case "mlp_activations":
            model = Sequential(inputShape: [6]) {
                Dense(units: 8, activation: .tanh)
                Dense(units: 8, activation: .sigmoid)
                Dense(units: 8, activation: .gelu)
                Dense(units: 8, activation: .silu)
                Dense(units: 4, activation: .softmax)
            }
        case "mlp_mse":
            model = Sequential(inputShape: [6]) {
                Dense(units: 12, activation: .relu)
                Dense(units: 3)
            }
        case "mlp_sigmoid_cce":
            model = Sequential(inputShape: [6]) {
                Dense(units: 12, activation: .relu)
                Dense(units: 4, activation: .sigmoid)
            }
        case "mlp_sigmoid_flatten_cce":
            model = Sequential(inputShape: [6]) {
                Dense(units: 12, activation: .relu)
                Dense(units: 4, activation: .sigmoid)
                Flatten()
            }
        default:  // mlp_sgd, mlp_sgd_plain, mlp_rmsprop, mlp_sparse
            model = Sequential(inputShape: [6]) {
                Dense(units: 12, activation: .relu)
                Dense(units: 4, activation: .softmax)
            }
        }
        try model.setParameters(weights("initial"), source: entry.file)
        compile(model)
        return model
    }

    /// Compiles `model` as the case's Keras model was compiled (a fresh optimizer).
    func compile(_ model: Model) {
        let metrics = entry.metrics.map { _ in Metric.accuracy }
        switch entry.loss {
        case let .one(name):
            model.compile(optimizer: optimizer, loss: Loss(kerasName: name)!, metrics: metrics, lossWeights: entry.lossWeights)
        case let .each(names):
            model.compile(optimizer: optimizer, losses: names.map { Loss(kerasName: $0)! }, metrics: metrics,
                          lossWeights: entry.lossWeights)
        }
    }
}
