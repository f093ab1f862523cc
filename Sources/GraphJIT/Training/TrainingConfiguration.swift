import GraphJITIR

/// An optimizer, as `compile` takes it: Keras 3's optimizers with their defaults. Every step runs
/// in float32, in Keras's order of operations (see `OptimizerRule`).
public enum Optimizer: Equatable, Sendable {
    /// `keras.optimizers.Adam`.
    case adam(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7)
    /// `keras.optimizers.SGD`, optionally with (Nesterov) momentum.
    case sgd(learningRate: Double = 0.01, momentum: Double = 0, nesterov: Bool = false)
    /// `keras.optimizers.RMSprop`.
    case rmsprop(learningRate: Double = 0.001, rho: Double = 0.9, momentum: Double = 0, epsilon: Double = 1e-7,
                 centered: Bool = false)

    /// The update rule the train step compiles (which rounds to float32 where Keras does); throws
    /// for values Keras would reject or that make no step.
    func rule() throws -> OptimizerRule {
        func check(_ value: Double, _ name: String, _ valid: Bool) throws -> Double {
            guard value.isFinite, valid else {
                throw TrainingError.invalidConfiguration("optimizer \(name) must be \(name == "learning_rate" ? "positive" : "in range"), got \(value)")
            }
            return value
        }
        switch self {
        case let .adam(lr, b1, b2, eps):
            return .adam(learningRate: try check(lr, "learning_rate", lr > 0), beta1: try check(b1, "beta_1", b1 >= 0 && b1 < 1),
                         beta2: try check(b2, "beta_2", b2 >= 0 && b2 < 1), epsilon: try check(eps, "epsilon", eps >= 0))
        case let .sgd(lr, momentum, nesterov):
            return .sgd(learningRate: try check(lr, "learning_rate", lr > 0),
                        momentum: try check(momentum, "momentum", momentum >= 0 && momentum <= 1), nesterov: nesterov)
        case let .rmsprop(lr, rho, momentum, eps, centered):
            return .rmsprop(learningRate: try check(lr, "learning_rate", lr > 0), rho: try check(rho, "rho", rho >= 0 && rho < 1),
                            momentum: try check(momentum, "momentum", momentum >= 0 && momentum <= 1),
                            epsilon: try check(eps, "epsilon", eps >= 0), centered: centered)
        }
    }

    /// The learning rate.
    public var learningRate: Double {
        switch self {
        case let .adam(learningRate, _, _, _), let .sgd(learningRate, _, _), let .rmsprop(learningRate, _, _, _, _): learningRate
        }
    }

    /// The optimizer with another learning rate.
    public func withLearningRate(_ learningRate: Double) -> Optimizer {
        switch self {
        case let .adam(_, b1, b2, eps): .adam(learningRate: learningRate, beta1: b1, beta2: b2, epsilon: eps)
        case let .sgd(_, momentum, nesterov): .sgd(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        case let .rmsprop(_, rho, momentum, eps, centered):
            .rmsprop(learningRate: learningRate, rho: rho, momentum: momentum, epsilon: eps, centered: centered)
        }
    }
}

/// A loss function, by its Keras name.
public enum Loss: String, Equatable, Sendable, CaseIterable {
    /// Cross-entropy between one-hot targets and the predicted distribution. For an output made by
    /// a softmax (or sigmoid) activation it is computed from the logits, as Keras's TensorFlow
    /// backend does; otherwise from probabilities, normalized and clipped to `[1e-7, 1 − 1e-7]`.
    case categoricalCrossentropy = "categorical_crossentropy"
    /// The same with integer class labels as targets.
    case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"
    /// Mean squared error over the last axis.
    case meanSquaredError = "mean_squared_error"

    /// The loss Keras calls `name` (`mse` for mean squared error).
    public init?(kerasName name: String) {
        if name == "mse" { self = .meanSquaredError; return }
        self.init(rawValue: name)
    }
}

/// A metric reported during training and evaluation.
public enum Metric: String, Equatable, Sendable {
    /// Resolved as Keras does: categorical accuracy for one-hot targets, sparse categorical for
    /// integer labels, binary (threshold 0.5) for a one-unit output.
    case accuracy
}

/// What `compile` recorded.
public struct TrainingConfiguration: Equatable, Sendable {
    /// The optimizer and its hyperparameters; ``Model/setLearningRate(_:)`` replaces it with the same
    /// optimizer at another learning rate.
    public private(set) var optimizer: Optimizer
    /// One loss per output, or a single loss applied to every output (empty when given by name).
    public let losses: [Loss]
    /// Weights of the per-output losses in the total (`nil`: every weight 1).
    public let lossWeights: [Double]?
    /// For a single-output model, its metrics; for several outputs, one metric per output (as
    /// Keras requires when metrics are given as a list).
    public let metrics: [Metric]
    /// Losses, metrics and loss weights keyed by output name (Keras's dict form), when given so.
    public let byOutput: ByOutput?

    /// Keras's dict form of `compile`'s arguments: keys are output names (`dense_1`).
    public struct ByOutput: Equatable, Sendable {
        /// The loss of each output, by output name.
        public let losses: [String: Loss]
        /// The metrics of each output, by output name.
        public let metrics: [String: [Metric]]
        /// Each output's loss weight, by output name (`nil`: every weight 1).
        public let lossWeights: [String: Double]?
    }

    /// The list form: one loss per output (or one for all), metrics per output for several outputs.
    public init(optimizer: Optimizer, losses: [Loss], lossWeights: [Double]? = nil, metrics: [Metric]) {
        self.optimizer = optimizer
        self.losses = losses
        self.lossWeights = lossWeights
        self.metrics = metrics
        self.byOutput = nil
    }

    /// The dict form: every output named in `losses`, and only those.
    public init(optimizer: Optimizer, losses: [String: Loss], metrics: [String: [Metric]] = [:],
                lossWeights: [String: Double]? = nil) {
        self.optimizer = optimizer
        self.losses = []
        self.lossWeights = nil
        self.metrics = []
        self.byOutput = ByOutput(losses: losses, metrics: metrics, lossWeights: lossWeights)
    }

    /// The same configuration with another optimizer.
    public func replacingOptimizer(_ optimizer: Optimizer) -> TrainingConfiguration {
        var copy = self
        copy.optimizer = optimizer
        return copy
    }

    /// The single loss, when one loss applies to every output (the first of the list otherwise).
    public var loss: Loss? { losses.first ?? byOutput?.losses.sorted { $0.key < $1.key }.first?.value }
}
