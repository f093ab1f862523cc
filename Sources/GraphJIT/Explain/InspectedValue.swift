/// A value of a model's graph that an explanation reads or differentiates.
enum InspectedValue: Hashable, Sendable, CustomStringConvertible {
    /// Model input number `k` (for gradients with respect to it).
    case input(Int)
    /// Model output number `k`.
    case output(Int)
    /// The value before output `k`'s final softmax or sigmoid (Keras's Grad-CAM sets that
    /// activation to `None`); the output itself when it ends in neither.
    case logits(ofOutput: Int)
    /// A value by name, as `Model.valueNames()` lists them: a layer's output (`conv2d`) or one of
    /// its intermediate values (`attention_layer/softmax`).
    case named(String)

    /// A short description (`output 0`, `logits of output 0`, `'conv2d'`).
    var description: String {
        switch self {
        case let .input(index): "input \(index)"
        case let .output(index): "output \(index)"
        case let .logits(index): "logits of output \(index)"
        case let .named(name): "'\(name)'"
        }
    }
}
