/// A layer's activation, as Keras names them: an elementwise function or softmax.
///
/// Softmax is not elementwise (it normalizes over the last axis), so it is its own case; the
/// elementwise ones come from the single table ``ElementwiseActivation``. Write them as Keras does:
/// `Dense(units: 10, activation: .softmax)`, `Dense(units: 128, activation: .relu)`.
public enum ActivationFunction: Hashable, Sendable, CustomStringConvertible {
    /// A function applied to each element on its own.
    case elementwise(ElementwiseActivation)
    /// Softmax over the last axis.
    case softmax

    /// The identity (Keras's `linear`, the default for layers).
    public static var linear: Self { .elementwise(.linear) }
    /// `max(x, 0)`; NaN stays NaN.
    public static var relu: Self { .elementwise(.relu) }
    /// `1 / (1 + exp(-x))`.
    public static var sigmoid: Self { .elementwise(.sigmoid) }
    /// The hyperbolic tangent.
    public static var tanh: Self { .elementwise(.tanh) }
    /// Keras's `gelu` (its default, `approximate=False`): `x/2 · (1 + erf(x/√2))`.
    public static var gelu: Self { .elementwise(.gelu) }
    /// Keras's `gelu` with `approximate=True`: the tanh approximation.
    public static var geluTanh: Self { .elementwise(.geluTanh) }
    /// Keras's `silu`, also called `swish`: `x · sigmoid(x)`.
    public static var silu: Self { .elementwise(.silu) }
    /// Keras's other name for ``silu``.
    public static var swish: Self { .elementwise(.silu) }

    /// Every activation: the elementwise table, then softmax.
    public static var allCases: [ActivationFunction] { ElementwiseActivation.allCases.map(Self.elementwise) + [.softmax] }

    /// The activation Keras calls `name` (`relu`, `gelu`, `swish`, `softmax`, ...).
    public init?(kerasName name: String) {
        if name == "softmax" {
            self = .softmax
        } else if let function = ElementwiseActivation(kerasName: name) {
            self = .elementwise(function)
        } else {
            return nil
        }
    }

    /// The elementwise function, or `nil` for softmax.
    public var elementwise: ElementwiseActivation? {
        if case let .elementwise(function) = self { function } else { nil }
    }

    /// Whether the function maps each element independently of the others.
    public var isElementwise: Bool { elementwise != nil }

    public var description: String { elementwise?.rawValue ?? "softmax" }
}
