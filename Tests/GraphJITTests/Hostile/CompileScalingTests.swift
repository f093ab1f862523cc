import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR

/// Compile time grows linearly with the model: a hostile-input run found it quadratic (10k
/// Activation layers 1.6 s, 40k 33 s, 100k over 120 s). The figures are measured by
/// `graphjit-bench --compile-scaling`; these tests only bound what was quadratic, with limits a
/// quadratic pipeline cannot meet even in a debug build. The long chain also once overflowed the
/// stack when its symbolic tensors were released one inside the other.
@Suite("Hostile inputs: compile time is linear in the model's size")
struct CompileScalingTests {
    @Test("100,000 Activation layers fused into one kernel compile", .timeLimit(.minutes(1)))
    func longActivationChain() throws {
        let model = Sequential(inputShape: [8], seed: 1) {
            Dense(units: 8)
            for _ in 0..<100_000 { Activation(.relu) }
        }
        let x = Tensor.seededNormal([1, 8], seed: 2)
        let compiled = try model.compiled(batchSize: 1, tier: .instant)
        #expect(compiled.module.kernels.count == 1)
        #expect(maxAbsoluteDifference(try compiled.predict([x]), [try model.predict(x, engine: .reference)]) <= 1e-5)
    }

    @Test("4,000 Dense layers, one kernel each, compile", .timeLimit(.minutes(1)))
    func manyKernels() throws {
        let model = Sequential(inputShape: [8], seed: 3) {
            for _ in 0..<4_000 { Dense(units: 8, activation: .tanh) }
        }
        let compiled = try model.compiled(batchSize: 2, tier: .instant)
        #expect(compiled.module.kernels.count == 4_000)
        let x = Tensor.seededNormal([2, 8], seed: 4)
        #expect(maxAbsoluteDifference(try compiled.predict([x]), [try model.predict(x, engine: .reference)]) <= 1e-4)
    }
}
