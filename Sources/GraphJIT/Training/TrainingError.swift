/// Why training or evaluation could not run, or stopped: each case says what is wrong and where.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// `fit`, `evaluate` or a batch call before `compile`.
    case notCompiled
    /// A configuration Keras would reject (metrics per output, loss count, batch size...).
    case invalidConfiguration(String)
    /// Targets that do not fit the outputs (count, shape, sample count, label range).
    case targetMismatch(String)
    /// A NaN or an infinity in the data: which array, which sample.
    case nonFiniteData(array: String, sample: Int)
    /// A step whose loss or gradients are not finite; the weights were left as they were before it.
    case diverged(epoch: Int, step: Int, loss: Double, weightsUnchanged: Bool)
    /// An operation that cannot be trained yet.
    case unsupported(String)

    /// A one-line message.
    public var description: String {
        switch self {
        case .notCompiled:
            return "the model must be compiled before training or evaluation: call compile(optimizer:loss:metrics:)"
        case let .invalidConfiguration(reason): return "invalid training configuration: \(reason)"
        case let .targetMismatch(reason): return "targets do not match the model's outputs: \(reason)"
        case let .nonFiniteData(array, sample): return "\(array) holds a NaN or an infinity in sample \(sample)"
        case let .diverged(epoch, step, loss, unchanged):
            return "training diverged in epoch \(epoch + 1), step \(step + 1): the loss is \(loss)"
                + (unchanged ? "; a gradient was not finite, so no weight was changed by this step"
                    : "; the step was applied")
        case let .unsupported(reason): return "cannot train this model yet: \(reason)"
        }
    }
}
