import Foundation
import Testing
@testable import GraphJIT

/// Opt-in timing of the tutorial CNN at batch 64 (`GRAPHJIT_TIMING=1`), to see what a build's C
/// runtime costs predict (debug builds: runtime-c/README.md, "Debug builds"). Prints medians of
/// `predict`, of `run` on preallocated buffers, and the sum of the per-kernel medians; asserts
/// nothing about speed.
@Suite("Predict timing (GRAPHJIT_TIMING=1)", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["GRAPHJIT_TIMING"] == "1"))
struct PredictTimingTests {
    private static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return (ContinuousClock.now - start) / .milliseconds(1)
    }

    private static func median(_ samples: [Double]) -> Double { samples.sorted()[samples.count / 2] }

    @Test("tutorial CNN, batch 64, instant and optimized tiers", arguments: [CompilationTier.instant, .optimized])
    func cnnBatch64(tier: CompilationTier) throws {
        let compiled = try TutorialModel.cnn.make(seed: 0).compiled(batchSize: 64, tier: tier)
        let input = Tensor.seededNormal([64, 64, 64, 3], seed: 7)
        for _ in 0..<2 { _ = try compiled.predict([input]) }
        let predict = try (0..<21).map { _ in try Self.milliseconds { _ = try compiled.predict([input]) } }
        let output = UnsafeMutableBufferPointer<Float>.allocate(capacity: compiled.plan.outputs[0].count)
        defer { output.deallocate() }
        let run = try input.scalars.withUnsafeBufferPointer { buffer in
            try (0..<11).map { _ in try Self.milliseconds { try compiled.run(inputs: [buffer], outputs: [output]) } }
        }
        let kernels = try compiled.profileKernels([input], repetitions: 11).map(\.medianSeconds).reduce(0, +) * 1e3
        print(String(format: "timing cnn64 %@: predict %.2f ms (min %.2f), run %.2f ms, kernels %.2f ms (%@)",
                     "\(tier)", Self.median(predict), predict.min()!, Self.median(run), kernels,
                     "\(OptimizedRuntime.status.map(\.description) ?? "-")"))
    }
}
