import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// Everything about the machine that code generation may depend on, as an explicit input.
///
/// The same graph with the same options gives byte-identical C on any machine; the options are
/// part of the optimizing tier's cache key. ``current`` reads this machine's values once.
public struct TargetOptions: Hashable, Sendable, CustomStringConvertible {
    /// Per-worker scratch slots a parallel kernel allocates (the runtime's `max_workers()` bound).
    public var workerSlots: Int
    /// Below this many multiply-adds a convolution with fewer images than workers is not split
    /// into bands of rows.
    public var bandedConvolutionMultiplyAdds: Int
    /// The least work worth a thread hand-off in a parallel loop (ONNX Runtime uses about 64K).
    public var parallelGrainMultiplyAdds: Int

    /// Creates options from explicit machine values.
    ///
    /// - Parameters:
    ///   - workerSlots: Per-worker scratch slots a parallel kernel allocates; a value below 1 counts as 1.
    ///   - bandedConvolutionMultiplyAdds: The least multiply-adds for which a convolution with fewer
    ///     images than worker slots is split into bands of rows.
    ///   - parallelGrainMultiplyAdds: The least work, in multiply-adds, worth a thread hand-off in a
    ///     parallel loop.
    public init(workerSlots: Int, bandedConvolutionMultiplyAdds: Int = 1_000_000,
                parallelGrainMultiplyAdds: Int = 65_536) {
        self.workerSlots = max(1, workerSlots)
        self.bandedConvolutionMultiplyAdds = bandedConvolutionMultiplyAdds
        self.parallelGrainMultiplyAdds = parallelGrainMultiplyAdds
    }

    /// This machine: as many worker slots as the runtime can use.
    public static var current: TargetOptions { TargetOptions(workerSlots: RuntimeSettings.maxWorkers) }

    public var description: String {
        "workers=\(workerSlots) banded>=\(bandedConvolutionMultiplyAdds) grain=\(parallelGrainMultiplyAdds)"
    }
}
