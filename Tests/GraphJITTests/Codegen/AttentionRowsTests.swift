import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// The attention layer's score kernel (the one-column product V, softmax over time, weighted sum)
/// runs one batch row at a time on the worker pool; every row must equal the reference.
@Suite("Attention score kernel split into batch rows")
struct AttentionRowsTests {
    @Test("batch rows run in parallel and match the reference on both tiers", arguments: [2, 5, 17])
    func rowsMatchReference(_ batch: Int) throws {
        let model = TutorialModel.attention.make(seed: 3)
        let compiled = try model.compiled(batchSize: batch, tier: .instant)
        #expect(compiled.module.source.contains("_rows(void *context"), "expected the row-parallel score kernel")
        #expect(compiled.module.source.contains("softmax over the 128 steps"))
        let x = Tensor.seededNormal([batch] + (try model.inputSignature()[0].shape), seed: 4)
        let reference = try model.predict([x], engine: .reference)
        for tier in [CompilationTier.instant, .optimized] {
            let jit = try model.predict([x], batchSize: batch, engine: .jit(tier: tier))
            #expect(maxAbsoluteDifference(jit, reference) <= 1e-5, "batch \(batch) on \(tier)")
        }
    }

    @Test("a single row keeps the one-call form (nothing to split)")
    func singleRowUnsplit() throws {
        let compiled = try TutorialModel.attention.make(seed: 3).compiled(batchSize: 1, tier: .instant)
        #expect(!compiled.module.source.contains("k1_attention_layer_V_rows"))
    }
}
