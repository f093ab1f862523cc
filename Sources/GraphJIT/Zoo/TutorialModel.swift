import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The four models of the Keras tutorial on large-model techniques, at the tutorial's sizes.
///
/// Each is compiled with Adam, categorical cross-entropy and accuracy, as in the tutorial.
public enum TutorialModel: String, CaseIterable, Sendable {
    /// Conv2D 32 3x3 relu on 64x64x3, MaxPooling2D 2x2, Flatten, Dense 128 relu, Dense 10 softmax.
    case cnn
    /// LSTM 50 over (100 timesteps, 32 features), Dense 10 softmax.
    case lstm
    /// AttentionLayer(units: 64) over (128, 64), Dense 10 softmax.
    case attention
    /// Input 64, shared Dense 128 relu, heads Dense 10 softmax and Dense 5 softmax.
    case multitask

    /// The per-sample input shape at the tutorial's size.
    public var inputShape: [Int] {
        switch self {
        case .cnn: [64, 64, 3]
        case .lstm: [100, 32]
        case .attention: [128, 64]
        case .multitask: [64]
        }
    }

    /// The per-sample shape of each output (class probabilities).
    public var outputShapes: [[Int]] { self == .multitask ? [[10], [5]] : [[10]] }

    /// How many inputs and outputs the model has.
    public var inputCount: Int { 1 }
    /// How many outputs the model has.
    public var outputCount: Int { outputShapes.count }

    /// One line per model: its name, input shape and output shapes (for `--help`).
    public static var signatures: String {
        allCases.map { model in
            let shapes = model.outputShapes.map { "(batch, \($0.map(String.init).joined(separator: ", ")))" }
            return "\(model.rawValue): input (batch, \(model.inputShape.map(String.init).joined(separator: ", "))) -> "
                + shapes.joined(separator: ", ")
        }.joined(separator: "\n")
    }

    /// Builds the model with weights drawn from `seed`.
    public func make(seed: UInt64 = 0) -> Model {
        let model: Model = switch self {
        case .cnn: Self.cnn(inputShape: inputShape, seed: seed)
        case .lstm: Self.lstm(timesteps: inputShape[0], features: inputShape[1], seed: seed)
        case .attention: Self.attention(timesteps: inputShape[0], features: inputShape[1], seed: seed)
        case .multitask: Self.multitask(inputSize: inputShape[0], seed: seed)
        }
        // Keras needs one metric per output for a multi-output model given metrics as a list.
        let metrics = Array(repeating: Metric.accuracy, count: outputCount)
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: metrics)
        return model
    }

    // MARK: Builders at any size

    /// The tutorial CNN on images of `inputShape` (height, width, channels).
    public static func cnn(inputShape: [Int], seed: UInt64 = 0) -> Model {
        Sequential(inputShape: inputShape, seed: seed) {
            Conv2D(filters: 32, kernelSize: [3, 3], activation: .relu)
            MaxPooling2D(poolSize: [2, 2])
            Flatten()
            Dense(units: 128, activation: .relu)
            Dense(units: 10, activation: .softmax)
        }
    }

    /// The tutorial LSTM classifier.
    public static func lstm(timesteps: Int, features: Int, units: Int = 50, seed: UInt64 = 0) -> Model {
        Sequential(inputShape: [timesteps, features], seed: seed) {
            LSTM(units: units)
            Dense(units: 10, activation: .softmax)
        }
    }

    /// The tutorial attention classifier.
    public static func attention(timesteps: Int, features: Int, units: Int? = nil, seed: UInt64 = 0) -> Model {
        Sequential(inputShape: [timesteps, features], seed: seed) {
            AttentionLayer(units: units ?? features)
            Dense(units: 10, activation: .softmax)
        }
    }

    /// The tutorial multi-task network: one shared trunk, two softmax heads.
    public static func multitask(inputSize: Int = 64, hidden: Int = 128, seed: UInt64 = 0) -> Model {
        let input = Input(shape: [inputSize])
        let shared = Dense(units: hidden, activation: .relu)(input)
        let first = Dense(units: 10, activation: .softmax)(shared)
        let second = Dense(units: 5, activation: .softmax)(shared)
        return Model(inputs: [input], outputs: [first, second], seed: seed)
    }
}
