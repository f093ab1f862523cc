import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// With fewer images than workers (batch 1), a large convolution is split into bands of output
/// rows run in parallel; the band edges must reproduce padding and overlapping pool windows exactly.
@Suite("Convolution split into row bands at batch 1")
struct BandedConvolutionTests {
    static let models: [(String, @Sendable () -> Model)] = [
        ("tutorial CNN on 40x40x3", { TutorialModel.cnn(inputShape: [40, 40, 3]) }),
        ("'same' conv, overlapping 3x3 stride-2 'same' pool", {
            Sequential(inputShape: [33, 35, 4]) {
                Conv2D(filters: 32, kernelSize: [3, 3], padding: .same, activation: .relu)
                MaxPooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same)
                Flatten()
                Dense(units: 5, activation: .softmax)
            }
        }),
        ("4x4 stride-2 'same' conv, no pool, separate activation", {
            Sequential(inputShape: [31, 29, 3]) {
                Conv2D(filters: 96, kernelSize: [4, 4], strides: [2, 2], padding: .same, activation: .tanh)
                Activation(.sigmoid)
                Flatten()
                Dense(units: 3)
            }
        }),
    ]

    @Test("banded kernels match the reference on both tiers", arguments: models.indices)
    func bandsMatchReference(_ index: Int) throws {
        let (name, make) = Self.models[index]
        let model = make()
        try model.setParameters(randomParameters(for: model, seed: 11))
        let compiled = try model.compiled(batchSize: 1, tier: .instant)
        if RuntimeSettings.maxWorkers > 1 {
            #expect(compiled.module.source.contains("_bands("), "\(name): expected the banded kernel")
        }
        let x = Tensor.seededNormal([1] + (try model.inputSignature()[0].shape), seed: 12)
        let reference = try model.predict([x], engine: .reference)
        // The last model ends in linear logits summed over 23,040 terms (|y| ~ 100): its float32
        // sums differ from the Double reference by a few ulps, so the bound scales with |y|.
        let scale = max(1, reference.flatMap(\.scalars).map(abs).max() ?? 1)
        for tier in [CompilationTier.instant, .optimized] {
            let jit = try model.predict([x], engine: .jit(tier: tier))
            #expect(maxAbsoluteDifference(jit, reference) <= 1e-5 * scale, "\(name) on \(tier)")
        }
    }
}
