/// An activation function, as Keras names them.
///
/// Activations are an enum rather than closures so that every one of them can be lowered to C.
public enum ActivationFunction: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The identity (Keras `linear`, the default for layers).
    case linear
    /// `max(x, 0)`.
    case relu
    /// `1 / (1 + exp(-x))`.
    case sigmoid
    /// Hyperbolic tangent.
    case tanh
    /// Softmax over the last axis.
    case softmax

    public var description: String { rawValue }

    /// Whether the function maps each element independently of the others.
    public var isElementwise: Bool { self != .softmax }
}
