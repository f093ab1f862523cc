import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The four models of the Keras tutorial on large-model techniques, at the tutorial's sizes, and
/// a cross-modal model built from their parts (the tutorial's "cross-modal learning" trend).
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
    /// Two inputs: an image (64x64x3: Conv2D 32 3x3 relu, MaxPooling2D 2x2, Flatten) and a sequence
    /// (100 timesteps, 32 features: LSTM 50), concatenated; a shared Dense 128 relu and the
    /// multitask heads, Dense 10 softmax and Dense 5 softmax.
    case crossmodal

    /// The four models of the tutorial itself (the seed-model benchmark runs these).
    public static let tutorialModels: [TutorialModel] = [.cnn, .lstm, .attention, .multitask]

    /// The per-sample shape of each input at the tutorial's size.
    public var inputShapes: [[Int]] {
        switch self {
        case .cnn: [[64, 64, 3]]
        case .lstm: [[100, 32]]
        case .attention: [[128, 64]]
        case .multitask: [[64]]
        case .crossmodal: [[64, 64, 3], [100, 32]]
        }
    }

    /// The per-sample shape of each output (class probabilities).
    public var outputShapes: [[Int]] { [.multitask, .crossmodal].contains(self) ? [[10], [5]] : [[10]] }

    /// The per-sample shape of the first input.
    @available(*, deprecated, renamed: "inputShapes", message: "a model may have several inputs (crossmodal has two)")
    public var inputShape: [Int] { inputShapes[0] }

    /// How many inputs the model has.
    public var inputCount: Int { inputShapes.count }
    /// How many outputs the model has.
    public var outputCount: Int { outputShapes.count }

    /// One line per model: its name, input shape and output shapes (for `--help`).
    public static var signatures: String {
        func shapes(_ list: [[Int]]) -> String {
            list.map { "(batch, \($0.map(String.init).joined(separator: ", ")))" }.joined(separator: ", ")
        }
        return allCases.map { model in
            "\(model.rawValue): input\(model.inputCount > 1 ? "s" : "") \(shapes(model.inputShapes)) -> \(shapes(model.outputShapes))"
        }.joined(separator: "\n")
    }

    /// Builds the model with weights drawn from `seed`.
    public func make(seed: UInt64 = 0) -> Model {
        let model: Model = switch self {
        case .cnn: Self.cnn(inputShape: inputShapes[0], seed: seed)
        case .lstm: Self.lstm(timesteps: inputShapes[0][0], features: inputShapes[0][1], seed: seed)
        case .attention: Self.attention(timesteps: inputShapes[0][0], features: inputShapes[0][1], seed: seed)
        case .multitask: Self.multitask(inputSize: inputShapes[0][0], seed: seed)
        case .crossmodal: Self.crossmodal(imageShape: inputShapes[0], timesteps: inputShapes[1][0],
                                          features: inputShapes[1][1], seed: seed)
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

    /// The cross-modal model: an image branch and a sequence branch joined by `Concatenate`, a
    /// shared Dense layer and two softmax heads. The inputs are named `image` and `sequence`.
    public static func crossmodal(imageShape: [Int], timesteps: Int, features: Int, filters: Int = 32,
                                  units: Int = 50, hidden: Int = 128, seed: UInt64 = 0) -> Model {
        let image = Input(shape: imageShape, name: "image")
        let sequence = Input(shape: [timesteps, features], name: "sequence")
        let convolved = Conv2D(filters: filters, kernelSize: [3, 3], activation: .relu)(image)
        let pooled = MaxPooling2D(poolSize: [2, 2])(convolved)
        let pixels = Flatten()(pooled)
        let summary = LSTM(units: units)(sequence)
        let joined = Concatenate()([pixels, summary])
        let shared = Dense(units: hidden, activation: .relu)(joined)
        let first = Dense(units: 10, activation: .softmax)(shared)
        let second = Dense(units: 5, activation: .softmax)(shared)
        return Model(inputs: [image, sequence], outputs: [first, second], seed: seed)
    }
}
