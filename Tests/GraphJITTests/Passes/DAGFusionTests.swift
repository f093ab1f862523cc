import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Fusion over a DAG: a value needed by a later stage of the same kernel, or outside the kernel,
/// is materialized and the kernel goes on, instead of the group ending there.
@Suite("Fusion over a DAG")
struct DAGFusionTests {
    private static let empty = ParameterStore(order: [], tensors: [:])

    private static func checkEngines(_ graph: Graph, parameters: ParameterStore, inputs: [Tensor]) throws {
        let reference = try ReferenceInterpreter().run(graph, inputs: inputs, parameters: parameters)
        for tier in [CompilationTier.instant, .optimized] {
            let jit = try CompiledModel(graph: graph, parameters: parameters, tier: tier).predict(inputs)
            #expect(maxAbsoluteDifference(jit, reference) <= 2e-6, "\(tier)")
        }
    }

    @Test("attention weights as a second output: one kernel computes and keeps them, then sums with them")
    func intermediateOutputStaysFused() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [3, 7, 5])
        builder.scope = "score"
        let w = try builder.parameter("kernel", shape: [5, 1], initializer: .glorotUniform(fanIn: 5, fanOut: 1))
        let scores = try builder.apply(.matmul, [x, w])
        builder.scope = "attention"
        let weights = try builder.apply(.softmax(axis: 1), [scores])
        let context = try builder.apply(.weightedSum(axis: 1), [weights, x])
        let graph = try builder.finish(outputs: [context, weights])

        let groups = FusionPass().run(on: graph)
        #expect(groups.map { $0.nodes.map(\.operation.mnemonic) } == [["matmul", "softmax", "weighted_sum"]])
        #expect(groups[0].materializedInterior == [weights])
        try Self.checkEngines(graph, parameters: ParameterStore(order: ["score.kernel"], tensors: [
            "score.kernel": Tensor.seededNormal([5, 1], seed: 1)]), inputs: [Tensor.seededNormal([3, 7, 5], seed: 2)])
    }

    @Test("one value read by two stages of one kernel: the softmax's input is also the weighted sum's values")
    func valueReadByTwoStages() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 6, 4])
        builder.scope = "project"
        let w = try builder.parameter("kernel", shape: [4, 1], initializer: .glorotUniform(fanIn: 4, fanOut: 1))
        let b = try builder.parameter("bias", shape: [1], initializer: .zeros)
        let v = try builder.apply(.activation(.tanh), [try builder.apply(.biasAdd, [try builder.apply(.matmul, [x, w]), b])])
        builder.scope = "pool"
        let a = try builder.apply(.softmax(axis: 1), [v])
        let pooled = try builder.apply(.weightedSum(axis: 1), [a, v])  // v read by softmax and by the sum
        let graph = try builder.finish(outputs: [pooled])

        let groups = FusionPass().run(on: graph)
        #expect(groups.count == 1)
        #expect(groups[0].materializedInterior == [v])
        let module = ModelCompiler().generate(graph)
        // v has its own buffer, which the in-place softmax does not overwrite.
        #expect(module.kernels[0].arguments.contains(.value(v)))
        try Self.checkEngines(graph, parameters: ParameterStore(order: ["project.kernel", "project.bias"], tensors: [
            "project.kernel": Tensor.seededNormal([4, 1], seed: 3), "project.bias": Tensor(shape: [1], uncheckedScalars: [0.3]),
        ]), inputs: [Tensor.seededNormal([2, 6, 4], seed: 4)])
    }

    @Test("a stage never joins a kernel before its other operand is computed")
    func operandsMustBeReady() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 5, 3])
        builder.scope = "score"
        let w = try builder.parameter("kernel", shape: [3, 1], initializer: .glorotUniform(fanIn: 3, fanOut: 1))
        let a = try builder.apply(.softmax(axis: 1), [try builder.apply(.matmul, [x, w])])
        builder.scope = "values"
        let w2 = try builder.parameter("kernel", shape: [3, 3], initializer: .glorotUniform(fanIn: 3, fanOut: 3))
        let v = try builder.apply(.activation(.relu), [try builder.apply(.matmul, [x, w2])])  // after the softmax
        builder.scope = "pool"
        let pooled = try builder.apply(.weightedSum(axis: 1), [a, v])
        let graph = try builder.finish(outputs: [pooled])
        let groups = FusionPass().run(on: graph)
        // The sum waits for the values' kernel: it cannot run inside the score kernel, before it.
        let position = try #require(groups.firstIndex { $0.nodes.contains { $0.operation.is(WeightedSumOp.self) } })
        let valuesKernel = try #require(groups.firstIndex { $0.layers.contains("values") })
        #expect(position > valuesKernel)
        try Self.checkEngines(graph, parameters: ParameterStore(order: ["score.kernel", "values.kernel"], tensors: [
            "score.kernel": Tensor.seededNormal([3, 1], seed: 5), "values.kernel": Tensor.seededNormal([3, 3], seed: 6),
        ]), inputs: [Tensor.seededNormal([2, 5, 3], seed: 7)])
    }

    @Test("a stage reading the anchor's value twice (weights and values) ends the group: the value is materialized")
    func anchorReadTwice() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 5, 3])
        builder.scope = "score"
        let v = try builder.apply(.matmul, [x, try builder.parameter("kernel", shape: [3, 1],
                                                                     initializer: .glorotUniform(fanIn: 3, fanOut: 1))])
        let pooled = try builder.apply(.weightedSum(axis: 1), [v, v])
        let graph = try builder.finish(outputs: [pooled])
        try Self.checkEngines(graph, parameters: ParameterStore(order: ["score.kernel"], tensors: [
            "score.kernel": Tensor.seededNormal([3, 1], seed: 8)]), inputs: [Tensor.seededNormal([2, 5, 3], seed: 9)])
    }

    @Test("sibling GEMMs merge only when the moved chain's operands are computed by then")
    func siblingMergeWaitsForOperands() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 4])
        builder.scope = "a"
        let first = try builder.apply(.biasAdd, [try builder.apply(.matmul, [x, try builder.parameter("kernel", shape: [4, 3], initializer: .zeros)]),
                                                 try builder.parameter("bias", shape: [3], initializer: .zeros)])
        builder.scope = "shift"
        let shift = try builder.apply(.activation(.tanh), [try builder.parameter("raw", shape: [3], initializer: .zeros)])
        builder.scope = "b"
        var second = try builder.apply(.matmul, [x, try builder.parameter("kernel", shape: [4, 3], initializer: .zeros)])
        second = try builder.apply(.biasAdd, [second, try builder.parameter("bias", shape: [3], initializer: .zeros)])
        second = try builder.apply(.biasAdd, [second, shift])  // computed after the first head's kernel
        let graph = try builder.finish(outputs: [first, second])
        let names = ["a.kernel", "a.bias", "shift.raw", "b.kernel", "b.bias"]
        let shapes = [[4, 3], [3], [3], [4, 3], [3]]
        let parameters = ParameterStore(order: names, tensors: Dictionary(uniqueKeysWithValues: zip(names, shapes).enumerated().map {
            ($1.0, Tensor.seededNormal($1.1, seed: UInt64(10 + $0)))
        }))
        try Self.checkEngines(graph, parameters: parameters, inputs: [Tensor.seededNormal([2, 4], seed: 20)])
    }
}
