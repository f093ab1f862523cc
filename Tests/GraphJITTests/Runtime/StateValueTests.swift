import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Persistent values that calls update: states and parameters with ``Graph/updates``, updated in
/// place by the kernel that computes them or copied at the end of a call, the derived (packed)
/// formats of updated weights remade before their next use, on the reference and the JIT.
@Suite("State values and updates")
struct StateValueTests {
    private static func store(_ tensors: [String: Tensor]) -> ParameterStore {
        ParameterStore(order: tensors.keys.sorted(), tensors: tensors)
    }

    /// Runs `calls` steps on the reference and on both JIT tiers, checking every output of every
    /// step, and the persistent values after the last, against the reference.
    private static func checkSteps(_ graph: Graph, parameters: ParameterStore, inputs: [Tensor], calls: Int,
                                   tolerance: Float = 1e-5) throws -> (reference: [[Tensor]], parameters: ParameterStore,
                                                                       states: [String: Tensor]) {
        var referenceParameters = parameters
        var referenceStates: [String: Tensor] = [:]
        var referenceOutputs: [[Tensor]] = []
        for _ in 0..<calls {
            referenceOutputs.append(try ReferenceInterpreter().step(graph, inputs: inputs, parameters: &referenceParameters,
                                                                     states: &referenceStates))
        }
        for tier in [CompilationTier.instant, .optimized] {
            let compiled = try CompiledModel(graph: graph, parameters: parameters, tier: tier)
            for call in 0..<calls {
                let outputs = try compiled.predict(inputs)
                #expect(maxAbsoluteDifference(outputs, referenceOutputs[call]) <= tolerance, "\(tier) call \(call)")
            }
            for spec in graph.parameters {
                let current = try #require(compiled.currentValue(of: spec.name))
                #expect(maxAbsoluteDifference([current], [referenceParameters[spec.name]!]) <= tolerance, "\(spec.name)")
            }
            for spec in graph.states {
                let current = try #require(compiled.currentValue(of: spec.name))
                #expect(maxAbsoluteDifference([current], [referenceStates[spec.name]!]) <= tolerance, "\(spec.name)")
            }
        }
        return (referenceOutputs, referenceParameters, referenceStates)
    }

    @Test("a state accumulates across calls: the kernel computing its new value writes it in place")
    func accumulatorInPlace() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 4])
        builder.scope = "acc"
        let total = try builder.state("total", shape: [2, 4])
        let increment = try builder.parameter("increment", shape: [4], initializer: .zeros)
        let next = try builder.apply(.biasAdd, [total, increment])
        try builder.update(total, with: next)
        builder.scope = "out"
        let y = try builder.apply(.activation(.relu), [x])
        let graph = try builder.finish(outputs: [y, next])
        #expect(graph.dump().contains("state 'acc.total'"))
        #expect(graph.dump().contains("update 'acc.total'"))

        let module = ModelCompiler().generate(graph)
        #expect(module.inPlaceUpdates == graph.updates)
        let kernel = try #require(module.kernels.first { $0.group.layers == ["acc"] })
        #expect(kernel.source.contains("the new value of acc.total, written in place"))
        #expect(!kernel.source.contains("memcpy"))

        let increment4 = Tensor(shape: [4], uncheckedScalars: [1, -2, 0.5, 3])
        let result = try Self.checkSteps(graph, parameters: Self.store(["acc.increment": increment4]),
                                         inputs: [Tensor.seededNormal([2, 4], seed: 3)], calls: 3)
        // After three calls the total is three increments, and the third call reported it.
        let expected = Tensor(shape: [2, 4], uncheckedScalars: (0..<8).map { 3 * increment4.scalars[$0 % 4] })
        #expect(result.states["acc.total"] == expected)
        #expect(maxAbsoluteDifference([result.reference[2][1]], [expected]) == 0)
    }

    @Test("an update whose target is read after the kernel that computes it is copied when the call ends")
    func updateCopiedAtEnd() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [3, 4])
        builder.scope = "acc"
        let total = try builder.state("total", shape: [4])
        let step = try builder.parameter("step", shape: [4], initializer: .zeros)
        let next = try builder.apply(.biasAdd, [try builder.apply(.activation(.relu), [total]), step])
        try builder.update(total, with: next)
        builder.scope = "shift"
        let y = try builder.apply(.biasAdd, [x, total])  // reads the old total, after `next` is computed
        let graph = try builder.finish(outputs: [y])
        #expect(ModelCompiler().generate(graph).inPlaceUpdates.isEmpty)
        let steps = Tensor(shape: [4], uncheckedScalars: [1, 2, -1, 0.25])
        let result = try Self.checkSteps(graph, parameters: Self.store(["acc.step": steps]),
                                         inputs: [Tensor.seededNormal([3, 4], seed: 4)], calls: 3)
        // Call 1 sees total 0, call 2 relu(0)+step, call 3 relu(step)+step.
        #expect(result.states["acc.total"]!.scalars == [3, 6, -1, 0.75])
    }

    @Test("an updated GEMM weight: its packed copy is remade before the next call, never stale")
    func packedWeightFollowsUpdates() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [5, 6])
        builder.scope = "dense"
        let kernel = try builder.parameter("kernel", shape: [6, 3], initializer: .glorotUniform(fanIn: 6, fanOut: 3))
        let y = try builder.apply(.matmul, [x, kernel])
        builder.scope = "sgd"
        let delta = try builder.parameter("delta", shape: [3], initializer: .zeros)
        try builder.update(kernel, with: try builder.apply(.biasAdd, [kernel, delta]))
        let graph = try builder.finish(outputs: [y])
        let module = ModelCompiler().generate(graph)
        #expect(module.kernels[0].arguments.contains(.weight(.packed([kernel]))))
        #expect(module.inPlaceUpdates.count == 1)

        let parameters = Self.store(["dense.kernel": Tensor.seededNormal([6, 3], seed: 5),
                                     "sgd.delta": Tensor(shape: [3], uncheckedScalars: [0.5, -1, 2])])
        let result = try Self.checkSteps(graph, parameters: parameters, inputs: [Tensor.seededNormal([5, 6], seed: 6)],
                                         calls: 3)
        #expect(result.reference[0] != result.reference[1])  // the weight really changed between calls
    }

    @Test("plans of several batch sizes share one parameter: an update by one is seen by the other")
    func sharedAcrossPlans() throws {
        let model = Sequential(inputShape: [6], seed: 2) { Dense(units: 3) }
        let small = try model.compiled(batchSize: 1, tier: .instant)
        let input = Tensor.seededNormal([1, 6], seed: 7)
        _ = try small.predict([input])
        var replaced = model.parameters.dictionary
        replaced["dense.kernel"] = Tensor.seededNormal([6, 3], seed: 8)
        try model.setParameters(replaced)
        // The same compiled plan, its packed kernel remade from the new weights.
        #expect(try model.compiled(batchSize: 1, tier: .instant) === small)
        let expected = try model.predict([input], engine: .reference)
        #expect(maxAbsoluteDifference(try small.predict([input]), expected) <= 1e-5)
        #expect(small.currentValue(of: "dense.kernel") == replaced["dense.kernel"])
    }

    @Test("malformed updates are errors that name the value")
    func malformedUpdates() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 4])
        builder.scope = "acc"
        let total = try builder.state("total", shape: [2, 4])
        #expect(throws: GraphError.self) { try builder.update(x, with: total) }  // an input is not persistent
        let wrong = try builder.apply(.activation(.relu), [try builder.state("other", shape: [4])])
        #expect(throws: GraphError.self) { try builder.update(total, with: wrong) }  // shape
        try builder.update(total, with: try builder.apply(.activation(.tanh), [total]))
        #expect(throws: GraphError.self) { try builder.update(total, with: x) }  // twice
        #expect(throws: GraphError.self) { try builder.state("total", shape: [3]) }
        #expect(throws: GraphError.self) { try builder.parameter("total", shape: [2, 4], initializer: .zeros) }
    }

    @Test("a state whose old value feeds another update is not overwritten in place")
    func oldValueFeedsAnotherUpdate() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [4])
        builder.scope = "history"
        let current = try builder.state("current", shape: [4])
        let previous = try builder.state("previous", shape: [4])
        try builder.update(current, with: try builder.apply(.biasAdd, [current, try builder.parameter("step", shape: [4],
                                                                                                      initializer: .zeros)]))
        try builder.update(previous, with: current)  // the value `current` held when the call started
        let graph = try builder.finish(outputs: [try builder.apply(.activation(.relu), [x])])
        #expect(ModelCompiler().generate(graph).inPlaceUpdates.isEmpty)
        let result = try Self.checkSteps(graph, parameters: Self.store(["history.step": Tensor(shape: [4], uncheckedScalars: [1, 2, 3, 4])]),
                                         inputs: [Tensor.seededNormal([4], seed: 9)], calls: 3)
        #expect(result.states["history.current"]!.scalars == [3, 6, 9, 12])
        #expect(result.states["history.previous"]!.scalars == [2, 4, 6, 8])
    }

    @Test("two states that swap their contents each call")
    func swap() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [3])
        builder.scope = "pair"
        let a = try builder.state("a", shape: [3])
        let b = try builder.state("b", shape: [3])
        let one = try builder.parameter("one", shape: [3], initializer: .zeros)
        try builder.update(a, with: b)
        try builder.update(b, with: try builder.apply(.biasAdd, [a, one]))  // b ← a + 1, a ← b
        let graph = try builder.finish(outputs: [try builder.apply(.activation(.relu), [x])])
        let result = try Self.checkSteps(graph, parameters: Self.store(["pair.one": Tensor(repeating: 1, shape: [3])]),
                                         inputs: [Tensor.seededNormal([3], seed: 10)], calls: 3)
        // (a, b): (0, 0) -> (0, 1) -> (1, 1) -> (1, 2)
        #expect(result.states["pair.a"]!.scalars == [1, 1, 1])
        #expect(result.states["pair.b"]!.scalars == [2, 2, 2])
    }

    @Test("a state read through a view (reshape) is not overwritten in place before the view is read")
    func readThroughView() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 3])
        builder.scope = "s"
        let state = try builder.state("value", shape: [2, 3])
        try builder.update(state, with: try builder.apply(.biasAdd, [x, try builder.parameter("one", shape: [3], initializer: .zeros)]))
        let flat = try builder.apply(.reshape([6]), [state])  // reports the contents the call started with
        let graph = try builder.finish(outputs: [flat])
        #expect(ModelCompiler().generate(graph).inPlaceUpdates.isEmpty)
        _ = try Self.checkSteps(graph, parameters: Self.store(["s.one": Tensor(repeating: 1, shape: [3])]),
                                inputs: [Tensor.seededNormal([2, 3], seed: 11)], calls: 2)
    }
}
