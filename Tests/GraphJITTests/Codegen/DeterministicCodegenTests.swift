import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Code generation is a function of the graph and the explicit ``TargetOptions`` only: nothing
/// reads the machine, so the same inputs give byte-identical C wherever they run.
@Suite("Deterministic code generation")
struct DeterministicCodegenTests {
    @Test("the same graph and options give byte-identical C, run after run", arguments: TutorialModel.allCases)
    func sameInputsSameSource(_ tutorial: TutorialModel) throws {
        let graph = try tutorial.make().makeGraph(batchSize: 1)
        let options = TargetOptions(workerSlots: 4)
        let first = ModelCompiler(target: options).generate(graph).source
        let second = ModelCompiler(target: options).generate(try tutorial.make().makeGraph(batchSize: 1)).source
        #expect(first == second)
        #expect(first.contains("/* target: \(options) */"))
    }

    @Test("worker slots are an input: a 1-worker target has no bands and smaller scratch; both match the reference")
    func workerSlotsAreExplicit() throws {
        let model = TutorialModel.cnn(inputShape: [40, 40, 3])
        try model.setParameters(randomParameters(for: model, seed: 5))
        let graph = try model.makeGraph(batchSize: 1)
        let single = ModelCompiler(target: TargetOptions(workerSlots: 1)).generate(graph)
        let many = ModelCompiler(target: TargetOptions(workerSlots: 8)).generate(graph)
        #expect(!single.source.contains("_bands("))
        #expect(many.source.contains("_bands("))
        #expect(single.source != many.source)
        // Both are correct whatever this machine has: the plan sizes scratch for the target's slots.
        let x = Tensor.seededNormal([1, 40, 40, 3], seed: 6)
        let reference = try model.predict([x], engine: .reference)
        for options in [TargetOptions(workerSlots: 1), TargetOptions(workerSlots: max(RuntimeSettings.maxWorkers, 2))] {
            let compiled = try ModelCompiler(target: options).compile(graph, parameters: model.parameters, tier: .instant,
                                                                      store: PersistentStore())
            #expect(maxAbsoluteDifference(try compiled.predict([x]), reference) <= 1e-5, "\(options)")
        }
    }
}
