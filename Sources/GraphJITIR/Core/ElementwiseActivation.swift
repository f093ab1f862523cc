import Foundation
import CGraphJITRuntime

/// An elementwise activation: the one table every engine reads.
///
/// Each case's ``definition`` holds everything about it: the Keras name, the runtime constant
/// the generated C passes (`GJ_ACT_*`, declared once in `runtime-c/include/gj_abi.h`), and the
/// reference formula the interpreter evaluates (in `Double`, rounded once). The C runtime
/// computes the same function in `gj_act_scalar` and, where a path has one, a vector routine;
/// `RuntimeABITests` checks that the two tables name the same activations with the same values.
///
/// Non-finite inputs: each formula is plain IEEE arithmetic, which is what Keras computes (measured
/// with TensorFlow 2.21): relu keeps NaN, sigmoid and tanh saturate at `±inf`, and gelu, gelu_tanh
/// and silu of `-inf` are NaN (`-inf · 0`), of `+inf` are `+inf`, of a huge negative input `-0`.
public enum ElementwiseActivation: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The identity (Keras `linear`, the default for layers).
    case linear
    /// `max(x, 0)`; NaN stays NaN.
    case relu
    /// `1 / (1 + exp(-x))`.
    case sigmoid
    /// Hyperbolic tangent.
    case tanh
    /// Keras's `gelu` (its default, `approximate=False`): `x/2 · (1 + erf(x/√2))`.
    case gelu
    /// `gelu(x, approximate=True)`: `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    case geluTanh = "gelu_tanh"
    /// Keras's `silu`, also called `swish`: `x · sigmoid(x)`.
    case silu

    /// What one activation is, for every engine.
    public struct Definition: Sendable {
        /// The runtime's value for it (a `GJ_ACT_*` constant of `gj_abi.h`).
        public let runtimeValue: Int32
        /// Other names Keras accepts for it (`swish` for `silu`).
        public let kerasAliases: [String]
        /// The reference formula.
        public let evaluate: @Sendable (Double) -> Double
        /// The derivative, as the backward pass computes it.
        public let derivative: Derivative
    }

    /// An activation's derivative, from its output where that suffices (as TensorFlow's
    /// `ReluGrad`, `SigmoidGrad`, `TanhGrad` do: the forward input need not be kept) or from its input.
    public enum Derivative: Sendable {
        /// `f'(x)` as a function of `y = f(x)`.
        case ofOutput(@Sendable (Double) -> Double)
        /// `f'(x)` as a function of `x`.
        case ofInput(@Sendable (Double) -> Double)

        /// Whether the derivative reads the activation's output (else its input).
        public var readsOutput: Bool { if case .ofOutput = self { true } else { false } }

        /// The derivative given the value it reads (the output or the input).
        public func callAsFunction(_ operand: Double) -> Double {
            switch self {
            case let .ofOutput(formula), let .ofInput(formula): formula(operand)
            }
        }
    }

    /// The activation's definition.
    public var definition: Definition {
        switch self {
        case .linear: Definition(runtimeValue: Int32(GJ_ACT_LINEAR), kerasAliases: [], evaluate: { $0 },
                                derivative: .ofOutput { _ in 1 })
        case .relu: Definition(runtimeValue: Int32(GJ_ACT_RELU), kerasAliases: [], evaluate: { $0 < 0 ? 0 : $0 },
                              derivative: .ofOutput { $0 > 0 ? 1 : 0 })  // TensorFlow: dy * (y > 0)
        case .sigmoid: Definition(runtimeValue: Int32(GJ_ACT_SIGMOID), kerasAliases: [], evaluate: { 1 / (1 + exp(-$0)) },
                                 derivative: .ofOutput { $0 * (1 - $0) })
        case .tanh: Definition(runtimeValue: Int32(GJ_ACT_TANH), kerasAliases: [], evaluate: { Foundation.tanh($0) },
                              derivative: .ofOutput { 1 - $0 * $0 })
        case .gelu:
            Definition(runtimeValue: Int32(GJ_ACT_GELU), kerasAliases: [], evaluate: { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) },
                       derivative: .ofInput { x in 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot() })
        case .geluTanh:
            Definition(runtimeValue: Int32(GJ_ACT_GELU_TANH), kerasAliases: [], evaluate: { x in
                0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            }, derivative: .ofInput { x in
                let c = (2 / Double.pi).squareRoot()
                let t = Foundation.tanh(c * (x + 0.044715 * x * x * x))
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
            })
        case .silu:
            Definition(runtimeValue: Int32(GJ_ACT_SILU), kerasAliases: ["swish"], evaluate: { $0 / (1 + exp(-$0)) },
                       derivative: .ofInput { x in
                           let s = 1 / (1 + exp(-x))
                           return s * (1 + x * (1 - s))
                       })
        }
    }

    /// The name of the runtime constant in generated C (`GJ_ACT_GELU_TANH`).
    public var runtimeName: String { "GJ_ACT_" + rawValue.uppercased() }

    /// The activation of `x`, evaluated in `Double` and rounded once.
    public func callAsFunction(_ x: Float) -> Float {
        self == .linear ? x : Float(definition.evaluate(Double(x)))
    }

    /// The activation Keras calls `name` (its canonical name or an alias), if it is elementwise.
    public init?(kerasName name: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue == name || $0.definition.kerasAliases.contains(name) })
        else { return nil }
        self = match
    }

    public var description: String { rawValue }
}
