import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// A fused group as a typed kernel: what it computes, with every operand and extent resolved.
///
/// The scheduler builds these from ``KernelGroup``s by asking each node's operation for its
/// ``KernelLowering`` and applying the folding rules (bias and activation into GEMM epilogues,
/// max pooling into a convolution). Nothing after this point looks at graph operations.
struct ScheduledKernel: Equatable, Sendable {
    /// The group it computes (its name is the C function's name).
    let group: KernelGroup
    let body: KernelBody
}

/// The shapes of kernel GraphJIT generates.
enum KernelBody: Equatable, Sendable {
    /// `x · w` with an epilogue, then stages on the product.
    case gemm(GEMMKernel)
    /// Several GEMMs of one input sharing one call over their concatenated weights.
    case siblingGEMM(SiblingGEMMKernel)
    /// im2col + GEMM per image (or per band of rows), then an optional max pool and stages.
    case convolution(ConvolutionKernel)
    /// The LSTM time loop, then stages on its hidden state.
    case recurrence(RecurrenceKernel)
    /// Row chunks written side by side, then stages.
    case concatenation(ConcatenationKernel)
    /// Stages alone, starting from a value computed elsewhere.
    case stages(source: ValueID, stages: [ScheduledStage], output: ValueID)
    /// Calls of runtime routines (a backward operation, a loss, an optimizer step), then stages.
    case routine(RoutineKernel)
}

/// A bias and an activation a GEMM applies as it stores its result.
struct Epilogue: Equatable, Sendable {
    var bias: ValueID?
    var activation: ElementwiseActivation = .linear
}

/// A stage with the layer it came from (for the comments in the generated C).
struct ScheduledStage: Equatable, Sendable {
    let stage: KernelStage
    let layer: String
    let output: ValueID
}

struct GEMMKernel: Equatable, Sendable {
    let x: ValueID
    let weights: ValueID
    let m: Int, n: Int, k: Int
    let epilogue: Epilogue
    let stages: [ScheduledStage]
    let layer: String
    let output: ValueID
}

struct SiblingGEMMKernel: Equatable, Sendable {
    struct Branch: Equatable, Sendable {
        let weights: ValueID
        let bias: ValueID?
        let width: Int
        let stages: [ScheduledStage]
        let layer: String
        let output: ValueID
    }

    let x: ValueID
    let m: Int, k: Int
    let branches: [Branch]
}

struct ConvolutionKernel: Equatable, Sendable {
    let x: ValueID
    let kernel: ValueID
    let window: Window2D
    let batch: Int, height: Int, width: Int, channels: Int, filters: Int
    let epilogue: Epilogue
    /// Stages before the pool (on the convolution's rows), the pool, and stages after it.
    let preStages: [ScheduledStage]
    let pool: Pool?
    let postStages: [ScheduledStage]
    let layer: String
    let output: ValueID

    /// A max pool run on the convolution's per-image (or per-band) scratch.
    struct Pool: Equatable, Sendable {
        let window: Window2D
        let layer: String
    }
}

struct RecurrenceKernel: Equatable, Sendable {
    let z: ValueID
    let recurrentKernel: ValueID
    let attributes: LSTMAttributes
    let batch: Int, steps: Int
    /// The per-step cell states, when the node exposes them.
    let cellStates: ValueID?
    let stages: [ScheduledStage]
    let layer: String
    let output: ValueID
}

struct ConcatenationKernel: Equatable, Sendable {
    let inputs: [ValueID]
    let outer: Int
    let chunks: [Int]
    let stages: [ScheduledStage]
    let output: ValueID
}

struct RoutineKernel: Equatable, Sendable {
    let routine: RoutineLowering
    /// The operation's name, for the comment above the calls.
    let operation: String
    /// The anchor's first output, which the stages start from.
    let anchorOutput: ValueID
    let stages: [ScheduledStage]
    let layer: String
    let output: ValueID
}
