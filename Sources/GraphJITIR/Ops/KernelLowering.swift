/// How a graph node becomes part of a generated kernel: each operation's answer to the scheduler.
///
/// Contractions, recurrences and copies *anchor* a kernel; everything else is a *stage* that runs
/// inside the kernel it is fused into (or alone, on its input, in a kernel of its own); views are
/// no code at all. The scheduler (`Schedule/`) combines an anchor with its stages into a typed
/// kernel, and nothing downstream looks at operations again.
public enum KernelLowering: Hashable, Sendable {
    /// The node anchors a kernel: a contraction, a recurrence, a copy or calls of runtime routines.
    case anchor(KernelAnchor)
    /// The node is a step of the kernel it is fused into (or of a kernel of its own, on its input).
    case stage(KernelStage)
    /// The output aliases the input's storage (a reshape).
    case view
}

/// The operation a kernel is built around, with every extent resolved.
public enum KernelAnchor: Hashable, Sendable {
    /// `x[M, K] · w[K, N]` (leading axes of x flattened into M).
    case matmul(x: ValueID, weights: ValueID, m: Int, n: Int, k: Int)
    /// NHWC convolution of `x[batch, H, W, C]` with an HWIO kernel, as im2col + GEMM.
    case convolution(x: ValueID, kernel: ValueID, window: Window2D, batch: Int, channels: Int, filters: Int)
    /// The LSTM time loop over projected inputs `z[batch, steps, 4u]`.
    case recurrence(z: ValueID, recurrentKernel: ValueID, attributes: LSTMAttributes, batch: Int, steps: Int)
    /// Row-chunks of several inputs written side by side: `outer` rows, one chunk per input.
    case concatenation(inputs: [ValueID], outer: Int, chunks: [Int])
    /// Calls of runtime routines (backward operations, losses, optimizer steps).
    case routine(RoutineLowering)
}

/// One step inside a kernel, applied to the kernel's current buffer.
public enum KernelStage: Hashable, Sendable {
    /// `x[..., n] += bias[n]`.
    case bias(ValueID, width: Int)
    /// An elementwise activation.
    case activation(ElementwiseActivation)
    /// Softmax over the middle axis of an `[outer, extent, inner]` view.
    case softmax(outer: Int, extent: Int, inner: Int)
    /// `out[o, m, d] = Σ_t w[o, t, m] · values[o, t, m, d]`: the attention context (shape-changing).
    case weightedSum(values: ValueID, outer: Int, steps: Int, middle: Int, depth: Int)
    /// NHWC max pooling of `batch` images of `channels` channels (shape-changing).
    case maxPool(Window2D, batch: Int, channels: Int)
    /// `dy *= f'(operand)`: an activation's backward pass, reading its output or its input.
    case activationGradient(ElementwiseActivation, operand: ValueID)
    /// `x += addend`: gradients that meet (a value read by several nodes).
    case add(ValueID)

    /// Whether the stage writes its result over its input (else it writes a new buffer).
    public var isInPlace: Bool {
        switch self {
        case .bias, .activation, .softmax, .activationGradient, .add: true
        case .weightedSum, .maxPool: false
        }
    }

    /// Whether the stage treats each row of the last axis on its own, so that it can run on a
    /// GEMM's column slice (sibling heads).
    public var isRowwise: Bool {
        switch self {
        case .bias, .activation, .activationGradient, .add: true
        case let .softmax(_, _, inner): inner == 1
        case .weightedSum, .maxPool: false
        }
    }
}
