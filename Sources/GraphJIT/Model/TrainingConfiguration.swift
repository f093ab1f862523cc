import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// An optimizer, as configured by `compile`. Training itself arrives in a later release; this
/// records the configuration exactly as Keras would hold it.
public enum Optimizer: Equatable, Sendable {
    /// Adam with Keras's defaults.
    case adam(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7)
}

/// A loss function.
public enum Loss: String, Equatable, Sendable {
    /// Cross-entropy between one-hot targets and predicted probabilities.
    case categoricalCrossentropy = "categorical_crossentropy"
}

/// A metric reported during training and evaluation.
public enum Metric: String, Equatable, Sendable {
    case accuracy
}

/// What `compile(optimizer:loss:metrics:)` recorded.
public struct TrainingConfiguration: Equatable, Sendable {
    public let optimizer: Optimizer
    public let loss: Loss
    public let metrics: [Metric]
}
