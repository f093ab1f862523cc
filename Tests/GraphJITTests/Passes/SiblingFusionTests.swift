import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Horizontal fusion: Dense heads reading one value share a single GEMM over their concatenated
/// weights. These models exercise the variants and check every tier against the reference.
@Suite("Sibling contractions share one GEMM")
struct SiblingFusionTests {
    /// A trunk and heads described by (units, activation, useBias), on a 2-D or 3-D input.
    static func model(inputShape: [Int], heads: [(Int, ActivationFunction, Bool)]) -> Model {
        let input = Input(shape: inputShape)
        let trunk = Dense(units: 6, activation: .tanh)(input)
        let outputs = heads.map { units, activation, useBias in
            Dense(units: units, activation: activation, useBias: useBias)(trunk)
        }
        return Model(inputs: [input], outputs: outputs)
    }

    @Test("heads with bias merge (any activations, three heads, 3-D input); results match the reference",
          arguments: [
              ([5], [(10, ActivationFunction.softmax, true), (5, .softmax, true)]),
              ([5], [(3, .relu, true), (7, .linear, true), (1, .sigmoid, true)]),
              ([4, 5], [(4, .softmax, true), (2, .tanh, true)]),
              ([5], [(33, .softmax, false), (2, .relu, false)]),
          ])
    func mergedHeads(_ inputShape: [Int], _ heads: [(Int, ActivationFunction, Bool)]) throws {
        let model = Self.model(inputShape: inputShape, heads: heads)
        try model.setParameters(randomParameters(for: model, seed: 4))
        let groups = FusionPass().run(on: try model.makeGraph(batchSize: 3))
        #expect(groups.count == 2)
        #expect(groups[1].branches.count == heads.count)
        let x = Tensor.seededNormal([3] + inputShape, seed: 5)
        let reference = try model.predict([x], engine: .reference)
        for tier in [CompilationTier.instant, .optimized] {
            let jit = try model.predict([x], engine: .jit(tier: tier))
            #expect(maxAbsoluteDifference(jit, reference) <= 1e-5, "\(tier)")
        }
    }

    @Test("a head without bias does not merge with heads that have one")
    func mixedBiasStaysApart() throws {
        let model = Self.model(inputShape: [5], heads: [(4, .softmax, true), (3, .linear, false)])
        try model.setParameters(randomParameters(for: model, seed: 6))
        let groups = FusionPass().run(on: try model.makeGraph(batchSize: 2))
        #expect(groups.map(\.branches.count) == [1, 1, 1])
        let x = Tensor.seededNormal([2, 5], seed: 7)
        #expect(maxAbsoluteDifference(try model.predict([x], engine: .jit(tier: .instant)),
                                      try model.predict([x], engine: .reference)) <= 1e-5)
    }
}
