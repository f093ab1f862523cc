/// A value of a model's graph that an explanation reads or differentiates.
public enum InspectedValue: Hashable, Sendable, CustomStringConvertible {
    /// Model input number `k` (for gradients with respect to it).
    case input(Int)
    /// Model output number `k`.
    case output(Int)
    /// The value before output `k`'s final softmax or sigmoid (Keras's Grad-CAM sets that
    /// activation to `None`); the output itself when it ends in neither.
    case logits(ofOutput: Int)
    /// A value by name, as ``Model/valueNames()`` lists them: a layer's output (`conv2d`) or one of
    /// its intermediate values (`attention_layer/softmax`).
    case named(String)

    /// A short description (`output 0`, `logits of output 0`, `'conv2d'`).
    public var description: String {
        switch self {
        case let .input(index): "input \(index)"
        case let .output(index): "output \(index)"
        case let .logits(index): "logits of output \(index)"
        case let .named(name): "'\(name)'"
        }
    }
}

/// What an inspection plan computes: values to return, and optionally the gradient of one value
/// with respect to others. Plans are cached per request (and batch size, and tier).
struct InspectionRequest: Hashable, Sendable {
    var outputs: [InspectedValue]
    var target: InspectedValue?
    var withRespectTo: [InspectedValue] = []
}
