/// A value of a model's graph that an explanation reads or differentiates.
enum InspectedValue: Hashable, Sendable {
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
}
