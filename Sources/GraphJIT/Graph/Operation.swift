/// A primitive operation of the static graph.
///
/// Layers lower to these. Each operation has one output; its shape is inferred from its inputs'
/// shapes (see `Operation+ShapeInference.swift`). The set is small on purpose: every operation has
/// a reference implementation, a lowering to C, and (later) a gradient.
public enum Operation: Equatable, Hashable, Sendable {
    /// `x[..., K] x w[K, N] -> [..., N]`: a Dense layer's product on the last axis.
    case matmul
    /// NHWC convolution: `x[B, H, W, C]`, kernel `[KH, KW, C, F]` (HWIO) `-> [B, OH, OW, F]`.
    case conv2d(Window2D)
    /// `x[..., N] + b[N]`.
    case biasAdd
    /// An elementwise activation (never `.softmax`; that is ``softmax(axis:)``).
    case activation(ActivationFunction)
    /// Softmax over one axis (non-negative index).
    case softmax(axis: Int)
    /// NHWC max pooling `x[B, H, W, C] -> [B, OH, OW, C]`.
    case maxPool2d(Window2D)
    /// The same elements under another shape: a view, never a copy.
    case reshape([Int])
    /// Concatenation of several inputs along one axis (non-negative index).
    case concatenate(axis: Int)
    /// The recurrent part of a Keras LSTM layer.
    ///
    /// Inputs: the input projection plus bias for every timestep `z[B, T, 4u]` and the recurrent
    /// kernel `[u, 4u]` (gate order i, f, c, o). Output `[B, u]`, or `[B, T, u]` with
    /// `returnSequences`. Initial state is zero.
    case lstm(LSTMAttributes)
    /// `sum over axis of weights * values`: weights `[B, T, 1]`, values `[B, T, D]` -> `[B, D]`
    /// (the reduction at the end of additive attention).
    case weightedSum(axis: Int)
}

/// Static attributes of an ``Operation/lstm(_:)`` node.
public struct LSTMAttributes: Equatable, Hashable, Sendable {
    public var units: Int
    public var activation: ActivationFunction
    public var recurrentActivation: ActivationFunction
    public var returnSequences: Bool

    public init(units: Int, activation: ActivationFunction, recurrentActivation: ActivationFunction,
                returnSequences: Bool) {
        self.units = units
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
    }
}

// MARK: - Kinds

/// What an operation does to memory, which is what fusion decides by.
public enum OperationKind: Sendable {
    /// A product over a reduced dimension (matmul, convolution): anchors a fused kernel.
    case contraction
    /// Maps each element independently (bias, activations).
    case elementwise
    /// Reduces or normalizes along an axis (softmax, weighted sum).
    case reduction
    /// A sliding-window reduction (pooling).
    case window
    /// Reinterprets memory without touching it.
    case view
    /// Moves data between buffers (concatenation).
    case copy
    /// A loop with a carried state that stays one kernel (the LSTM time loop).
    case recurrence
}

extension Operation {
    /// The operation's kind.
    public var kind: OperationKind {
        switch self {
        case .matmul, .conv2d: .contraction
        case .biasAdd, .activation: .elementwise
        case .softmax, .weightedSum: .reduction
        case .maxPool2d: .window
        case .reshape: .view
        case .concatenate: .copy
        case .lstm: .recurrence
        }
    }

    /// A short lower-case name used in dumps and generated C comments.
    public var mnemonic: String {
        switch self {
        case .matmul: "matmul"
        case .conv2d: "conv2d"
        case .biasAdd: "bias_add"
        case let .activation(function): function.rawValue
        case .softmax: "softmax"
        case .maxPool2d: "max_pool2d"
        case .reshape: "reshape"
        case .concatenate: "concatenate"
        case .lstm: "lstm"
        case .weightedSum: "weighted_sum"
        }
    }

    /// Attributes for dumps, e.g. `axis=1` or the window geometry.
    public var attributeDescription: String {
        switch self {
        case let .conv2d(window), let .maxPool2d(window): window.description
        case let .softmax(axis), let .concatenate(axis), let .weightedSum(axis): "axis=\(axis)"
        case let .reshape(shape): "to \(shape)"
        case let .lstm(attributes):
            "units=\(attributes.units) activation=\(attributes.activation) "
                + "recurrent_activation=\(attributes.recurrentActivation)"
                + (attributes.returnSequences ? " return_sequences" : "")
        case .matmul, .biasAdd, .activation: ""
        }
    }
}
