import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Operations are defined once each; these check what the redesign promised of them: illegal
/// states cannot be built, every op answers for itself, several outputs work on every engine.
@Suite("Operation definitions")
struct OperationDefinitionTests {
    @Test("softmax cannot be an elementwise activation: the type has no such case")
    func softmaxIsNotElementwise() {
        #expect(ActivationFunction.softmax.elementwise == nil)
        #expect(!ElementwiseActivation.allCases.map(\.rawValue).contains("softmax"))
        #expect(ActivationFunction(kerasName: "swish") == .silu)
        #expect(ActivationFunction(kerasName: "gelu") == .gelu)
        #expect(ActivationFunction(kerasName: "nope") == nil)
    }

    @Test("the activation table's formulas: Keras's gelu (erf), its tanh form, silu")
    func activationFormulas() {
        let x: Float = 1.5
        #expect(abs(ElementwiseActivation.gelu(x) - 1.399_789_2) < 1e-6)  // 0.5x(1+erf(x/√2)), Python math.erf
        #expect(abs(ElementwiseActivation.geluTanh(x) - 1.399_571_6) < 1e-6)  // the tanh form
        #expect(abs(ElementwiseActivation.silu(x) - Float(1.5 / (1 + exp(-1.5)))) < 2e-7)
        #expect(ElementwiseActivation.gelu(-10) == 0 || abs(ElementwiseActivation.gelu(-10)) < 1e-20)
    }

    @Test("weighted sum over any axis but the last, on the reference and the JIT")
    func weightedSumAnyAxis() throws {
        // values [2, 3, 4, 5]: sum over axis 2 (4 steps) with weights [2, 3, 4, 1] -> [2, 3, 5]
        var builder = GraphBuilder()
        let weights = try builder.addInput(named: "w", shape: [2, 3, 4, 1])
        let values = try builder.addInput(named: "v", shape: [2, 3, 4, 5])
        builder.scope = "reduce"
        let out = try builder.apply(.weightedSum(axis: 2), [weights, values])
        let graph = try builder.finish(outputs: [out])
        #expect(graph[out].shape == [2, 3, 5])
        let w = Tensor.seededNormal([2, 3, 4, 1], seed: 1)
        let v = Tensor.seededNormal([2, 3, 4, 5], seed: 2)
        let empty = ParameterStore(order: [], tensors: [:])
        let reference = try ReferenceInterpreter().run(graph, inputs: [w, v], parameters: empty)
        // by hand: out[a, b, d] = Σ_t w[a, b, t] v[a, b, t, d]
        var expected = [Float](repeating: 0, count: 30)
        for a in 0..<2 { for b in 0..<3 { for d in 0..<5 { for t in 0..<4 {
            expected[(a * 3 + b) * 5 + d] += w.scalars[(a * 3 + b) * 4 + t] * v.scalars[((a * 3 + b) * 4 + t) * 5 + d]
        } } } }
        #expect(maxAbsoluteDifference(reference, [Tensor(shape: [2, 3, 5], uncheckedScalars: expected)]) <= 1e-5)
        let jit = try CompiledModel(graph: graph, parameters: empty, tier: .instant).predict([w, v])
        #expect(maxAbsoluteDifference(jit, reference) <= 1e-5)
        #expect(throws: GraphError.self) { try Operation.weightedSum(axis: 3).outputShape(for: [[2, 3, 4, 1], [2, 3, 4, 5]], layer: "x") }
    }

    @Test("a node with two outputs: the LSTM's hidden states and its per-step cell states, on every engine")
    func multiOutputLSTM() throws {
        var builder = GraphBuilder()
        let z = try builder.addInput(named: "z", shape: [3, 5, 16])
        builder.scope = "lstm"
        let recurrent = try builder.parameter("recurrent_kernel", shape: [4, 16], initializer: .orthogonal)
        let attributes = LSTMAttributes(units: 4, activation: .tanh, recurrentActivation: .sigmoid,
                                        returnSequences: true, exposesCellStates: true)
        let outputs = try builder.applyReturningAll(.lstm(attributes), [z, recurrent])
        #expect(outputs.count == 2)
        let graph = try builder.finish(outputs: outputs)
        #expect(graph.nodes[0].outputs == outputs)
        #expect(graph[outputs[1]].shape == [3, 5, 4])
        let u = Tensor.seededNormal([4, 16], seed: 8, scale: 0.5)
        let parameters = ParameterStore(order: ["lstm.recurrent_kernel"], tensors: ["lstm.recurrent_kernel": u])
        let input = Tensor.seededNormal([3, 5, 16], seed: 9)
        let reference = try ReferenceInterpreter().run(graph, inputs: [input], parameters: parameters)
        // h_t = o_t * tanh(c_t) with |o| < 1: every |h| stays below |tanh(c)|, and the cell states are not the hidden ones.
        for (h, c) in zip(reference[0].scalars, reference[1].scalars) { #expect(abs(h) <= abs(Foundation.tanh(c)) + 1e-6) }
        #expect(reference[0] != reference[1])
        for tier in [CompilationTier.instant, .optimized] {
            let jit = try CompiledModel(graph: graph, parameters: parameters, tier: tier).predict([input])
            #expect(maxAbsoluteDifference(jit, reference) <= 1e-5, "\(tier)")
        }
    }

    @Test("each op describes itself in one place: mnemonic, kind and lowering come from its definition")
    func definitionsAnswer() throws {
        let graph = try TutorialModel.attention.make().makeGraph(batchSize: 2)
        for node in graph.nodes {
            let lowering = node.operation.definition.lowering(of: node, in: graph)
            switch node.operation.kind {
            case .contraction, .recurrence, .copy, .routine: if case .anchor = lowering {} else { Issue.record("\(node.operation)") }
            case .elementwise, .reduction, .window: if case .stage = lowering {} else { Issue.record("\(node.operation)") }
            case .view: #expect(lowering == .view)
            }
            // Every forward op has a gradient rule; with no gradient flowing in, it adds nothing.
            var builder = GraphBuilder(continuing: graph)
            let gradients = try node.operation.definition.gradients(
                of: node, outputGradients: node.outputs.map { _ in nil }, needed: node.inputs.map { _ in true }, into: &builder)
            #expect(gradients.count == node.inputs.count && gradients.allSatisfy { $0 == nil }, "\(node.operation)")
        }
    }
}
