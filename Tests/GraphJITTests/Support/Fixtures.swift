import Foundation
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

// MARK: - Keras fixtures

/// One case of the Keras fixtures in `Fixtures/` (written by `Tests/KerasFixtures/make_keras_fixtures.py`):
/// Keras's weights, the inputs it was run on and the outputs it produced.
struct KerasFixture: Sendable {
    /// Every case, in the manifest's order.
    static let caseNames = [
        "cnn", "cnn_strided_same", "cnn_no_bias", "cnn_rect", "cnn_same_stride1",
        "lstm", "lstm_sequences", "lstm_relu", "attention", "multitask",
        "two_input_concat", "concat_time", "cnn_uneven_same",
        "mlp_gelu", "mlp_gelu_tanh", "lstm_dropout", "crossmodal",
    ]

    /// The hostile-input cases (NaN, ±inf, ±3e38 inputs; NaN and ±inf outputs), after ``caseNames``
    /// in the manifest. Most reuse another case's model and weights file.
    static let nonFiniteCaseNames = [
        "activations_nonfinite", "pool_nonfinite", "dense_nonfinite", "cnn_nonfinite", "lstm_nonfinite",
        "lstm_sequences_nonfinite", "lstm_relu_nonfinite", "attention_nonfinite", "concat_nonfinite",
        "concat_time_nonfinite",
    ]

    let name: String
    /// The weights, named `<layer>.<weight>` as GraphJIT names them.
    let weights: SafetensorsFile
    /// `input.0`, `input.1`, ... (batch first).
    let inputs: [Tensor]
    /// Keras's `output.0`, `output.1`, ...
    let outputs: [Tensor]
    /// The case's manifest entry.
    let entry: KerasManifest.Case

    /// The `Fixtures` directory inside the test bundle.
    static var directory: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw FixtureError.missing("the Fixtures directory in the test bundle")
            }
            return url
        }
    }

    /// The parsed `manifest.json`.
    static func manifest() throws -> KerasManifest {
        let data = try Data(contentsOf: directory.appending(path: "manifest.json"))
        return try JSONDecoder().decode(KerasManifest.self, from: data)
    }

    /// Loads the case named `name`.
    static func load(_ name: String) throws -> KerasFixture {
        guard let entry = try manifest().cases.first(where: { $0.name == name }) else {
            throw FixtureError.missing("case '\(name)' in manifest.json")
        }
        let weights = try Safetensors.read(contentsOf: directory.appending(path: entry.weightsFile))
        let io = try Safetensors.read(contentsOf: directory.appending(path: entry.ioFile))
        func tensor(_ key: String) throws -> Tensor {
            guard let tensor = io[key] else { throw FixtureError.missing("\(key) in \(entry.ioFile)") }
            return tensor
        }
        let inputs = try entry.inputShapes.indices.map { try tensor("input.\($0)") }
        let outputs = try entry.outputShapes.indices.map { try tensor("output.\($0)") }
        return KerasFixture(name: name, weights: weights, inputs: inputs, outputs: outputs, entry: entry)
    }

    /// The case's model written with GraphJIT, layer for layer as `make_keras_fixtures.py` builds it
    /// (same order, so that the automatic names match the Keras names in the files).
    static func makeModel(_ name: String) -> Model {
        switch name {
        case "cnn":
            return Sequential(inputShape: [12, 12, 3]) {
                Conv2D(filters: 32, kernelSize: [3, 3], activation: .relu)
                MaxPooling2D(poolSize: [2, 2])
                Flatten()
                Dense(units: 128, activation: .relu)
                Dense(units: 10, activation: .softmax)
            }
        case "cnn_strided_same":
            return Sequential(inputShape: [13, 13, 3]) {
                Conv2D(filters: 8, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)
                MaxPooling2D(poolSize: [2, 2], padding: .same)
                Flatten()
                Dense(units: 10, activation: .softmax)
            }
        case "cnn_no_bias":
            return Sequential(inputShape: [10, 10, 2]) {
                Conv2D(filters: 4, kernelSize: [3, 3], activation: .tanh, useBias: false)
                MaxPooling2D(poolSize: [3, 3], strides: [2, 2])
                Flatten()
                Dense(units: 6, activation: .sigmoid, useBias: false)
            }
        case "cnn_rect":
            return Sequential(inputShape: [9, 11, 3]) {
                Conv2D(filters: 5, kernelSize: [2, 3], strides: [1, 2], padding: .valid)
                Activation(.relu)
                Flatten()
                Dense(units: 4)
                Softmax()
            }
        case "cnn_same_stride1":
            return Sequential(inputShape: [8, 8, 4]) {
                Conv2D(filters: 6, kernelSize: [5, 5], padding: .same, activation: .sigmoid)
                MaxPooling2D(poolSize: [2, 2], strides: [1, 1])
                Flatten()
                Dense(units: 3, activation: .softmax)
            }
        case "lstm":
            return Sequential(inputShape: [12, 8]) {
                LSTM(units: 50)
                Dense(units: 10, activation: .softmax)
            }
        case "lstm_sequences":
            return Sequential(inputShape: [6, 5]) {
                LSTM(units: 12, returnSequences: true)
                LSTM(units: 8, returnSequences: true)
                Dense(units: 4, activation: .softmax)
            }
        case "lstm_relu":
            return Sequential(inputShape: [5, 3]) {
                LSTM(units: 6, activation: .relu)
                Dense(units: 2, activation: .softmax)
            }
        case "attention":
            return Sequential(inputShape: [16, 8]) {
                AttentionLayer(units: 8)
                Dense(units: 10, activation: .softmax)
            }
        case "multitask":
            let input = Input(shape: [64])
            let shared = Dense(units: 128, activation: .relu)(input)
            let first = Dense(units: 10, activation: .softmax)(shared)
            let second = Dense(units: 5, activation: .softmax)(shared)
            return Model(inputs: [input], outputs: [first, second])
        case "two_input_concat":
            let a = Input(shape: [8])
            let b = Input(shape: [6])
            let ha = Dense(units: 16, activation: .relu)(a)
            let hb = Dense(units: 12, activation: .tanh)(b)
            let joined = Concatenate(axis: -1)([ha, hb])
            let y = Dense(units: 4, activation: .softmax)(joined)
            return Model(inputs: [a, b], outputs: [y])
        case "concat_time":
            let a = Input(shape: [4, 3])
            let b = Input(shape: [5, 3])
            let joined = Concatenate(axis: 1)([a, b])
            let h = LSTM(units: 6)(joined)
            let y = Dense(units: 3, activation: .softmax)(h)
            return Model(inputs: [a, b], outputs: [y])
        case "cnn_uneven_same":
            return Sequential(inputShape: [9, 9, 2]) {
                Conv2D(filters: 3, kernelSize: [4, 4], strides: [2, 2], padding: .same, activation: .tanh)
                MaxPooling2D(poolSize: [2, 2], padding: .same)
                Flatten()
                Dense(units: 4, activation: .softmax)
            }
        case "mlp_gelu":
            return Sequential(inputShape: [16]) {
                Dense(units: 32, activation: .gelu)
                Dropout(rate: 0.25)
                Dense(units: 24, activation: .silu)
                Dense(units: 5, activation: .softmax)
            }
        case "mlp_gelu_tanh":
            return Sequential(inputShape: [16]) {
                Dense(units: 32)
                Activation(.geluTanh)
                Dropout(rate: 0.5)
                Dense(units: 12)
                Activation(.swish)
                Dense(units: 4, activation: .softmax)
            }
        case "lstm_dropout":
            return Sequential(inputShape: [6, 5]) {
                LSTM(units: 7)
                Dropout(rate: 0.3)
                Dense(units: 3, activation: .softmax)
            }
        case "activations_nonfinite":
            let a = Input(shape: [24])
            let b = Input(shape: [10])
            let functions: [ElementwiseActivation] = [.relu, .sigmoid, .tanh, .gelu, .geluTanh, .silu]
            let outputs = functions.map { Activation(.elementwise($0))(a) } + [Softmax()(a), Softmax()(b)]
            return Model(inputs: [a, b], outputs: outputs)
        case "pool_nonfinite":
            let pools: [(shape: [Int], pool: [Int], strides: [Int]?, padding: Padding)] = [
                ([6, 6, 32], [2, 2], nil, .valid), ([7, 7, 17], [3, 3], [2, 2], .valid),
                ([5, 5, 8], [2, 2], nil, .same), ([4, 5, 3], [2, 2], nil, .same),
            ]
            let inputs = pools.map { Input(shape: $0.shape) }
            let outputs = zip(inputs, pools).map { input, p in
                MaxPooling2D(poolSize: p.pool, strides: p.strides, padding: p.padding)(input)
            }
            return Model(inputs: inputs, outputs: outputs)
        case "dense_nonfinite":
            let x = Input(shape: [6])
            let functions: [ActivationFunction] = [.linear, .relu, .sigmoid, .tanh, .gelu, .silu, .softmax]
            let heads = functions.map { Dense(units: 5, activation: $0)(x) }
            return Model(inputs: [x], outputs: heads + [Activation(.geluTanh)(Dense(units: 5)(x))])
        // The tutorial models through the zoo's own builders, at the fixtures' sizes.
        case "crossmodal":
            return TutorialModel.crossmodal(imageShape: [8, 8, 3], timesteps: 5, features: 4, filters: 4, units: 6, hidden: 12)
        case "cnn_nonfinite": return TutorialModel.cnn(inputShape: [12, 12, 3])
        case "lstm_nonfinite": return TutorialModel.lstm(timesteps: 12, features: 8)
        case "attention_nonfinite": return TutorialModel.attention(timesteps: 16, features: 8, units: 8)
        case "lstm_sequences_nonfinite": return makeModel("lstm_sequences")
        case "lstm_relu_nonfinite": return makeModel("lstm_relu")
        case "concat_nonfinite": return makeModel("two_input_concat")
        case "concat_time_nonfinite": return makeModel("concat_time")
        default:
            preconditionFailure("no GraphJIT model for fixture case '\(name)'")
        }
    }
}

/// `manifest.json`, as far as the tests read it.
struct KerasManifest: Decodable, Sendable {
    struct Weight: Decodable, Sendable, Equatable {
        let name: String
        let shape: [Int]
    }

    struct Case: Decodable, Sendable {
        let name: String
        let weightsFile: String
        let ioFile: String
        /// Keras layer names in model order, input layers included.
        let layers: [String]
        let inputShapes: [[Int]]
        let outputShapes: [[Int]]
        /// Sorted by name.
        let weights: [Weight]
        /// Hostile-input cases: per output, how many entries Keras's oneDNN softmax set to NaN where
        /// the rule, which GraphJIT follows, gives 0, in a row that holds a NaN.
        let softmaxLaneNaNs: [Int]?
    }

    let tensorflow: String
    let batch: Int
    let cases: [Case]
}

enum FixtureError: Error, CustomStringConvertible {
    case missing(String)

    var description: String {
        switch self {
        case let .missing(what): "fixture not found: \(what)"
        }
    }
}

// MARK: - Tensor helpers

extension Tensor {
    /// A tensor of standard normal samples drawn from `seed`, scaled by `scale`.
    static func seededNormal(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let normal = generator.normalTensor(shape: shape)
        return Tensor(shape: shape, uncheckedScalars: normal.scalars.map { $0 * scale })
    }
}

/// The largest `|actual - expected|` over every output (shapes must match; a mismatch is infinite).
func maxAbsoluteDifference(_ actual: [Tensor], _ expected: [Tensor]) -> Float {
    guard actual.count == expected.count else { return .infinity }
    return zip(actual, expected).map { a, e in
        a.shape == e.shape ? Difference(a, e).maxAbsolute : .infinity
    }.max() ?? 0
}

/// The largest `|actual - expected| / max(1, |expected|)`: absolute for small values, relative for large.
func maxMixedDifference(_ actual: [Tensor], _ expected: [Tensor]) -> Float {
    guard actual.count == expected.count else { return .infinity }
    var worst: Float = 0
    for (a, e) in zip(actual, expected) {
        guard a.shape == e.shape else { return .infinity }
        for (x, y) in zip(a.scalars, e.scalars) {
            let difference = x.isNaN || y.isNaN ? (x.isNaN && y.isNaN ? 0 : .infinity) : abs(x - y)
            worst = max(worst, difference / max(1, abs(y)))
        }
    }
    return worst
}

/// Random weights for every parameter of `model` (biases included, so that bias bugs show), drawn
/// from `seed`: each tensor is normal with a standard deviation of `scale`.
func randomParameters(for model: Model, seed: UInt64, scale: Float = 0.5) -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for (offset, name) in model.parameters.names.enumerated() {
        let shape = model.parameters[name]!.shape
        result[name] = .seededNormal(shape, seed: seed &+ UInt64(offset) &* 7919, scale: scale)
    }
    return result
}

/// A fresh temporary directory, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appending(path: "graphjit-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
