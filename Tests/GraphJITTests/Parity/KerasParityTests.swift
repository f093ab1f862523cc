import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Every Keras fixture case, rebuilt with GraphJIT, loaded with Keras's weights and run on Keras's
/// inputs by every engine.
///
/// Tolerance: each output must be within **1e-5 absolute** (max abs diff, every element) of the
/// output Keras (TensorFlow 2.21, float32) computed, and each JIT result within **1e-5 absolute**
/// of the reference interpreter's. The fixtures' outputs are softmax/sigmoid probabilities and
/// small activations (|y| ≲ 1), so an absolute bound is also a tight relative one; float32
/// accumulation order alone accounts for ~1e-7 here.
@Suite("Keras parity: reference and JIT reproduce the Keras fixtures")
struct KerasParityTests {
    /// Max abs diff allowed against Keras and between engines.
    static let tolerance: Float = 1e-5

    static let engines: [Engine] = [
        .reference,
        .reference(accumulation: .float),
        .jit(tier: .instant),
        .jit(tier: .optimized),
    ]

    @Test("the manifest lists exactly the sixteen cases, then the hostile-input ones, in order")
    func manifestCases() throws {
        let manifest = try KerasFixture.manifest()
        #expect(manifest.cases.map(\.name) == KerasFixture.caseNames + KerasFixture.nonFiniteCaseNames)
        #expect(manifest.batch == 3)
    }

    @Test("model parameter names and shapes equal the fixture's weights exactly", arguments: KerasFixture.caseNames)
    func parameterNamesMatch(_ name: String) throws {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        let modelNames = model.parameters.names
        #expect(modelNames.sorted() == fixture.weights.names.sorted())
        #expect(Set(modelNames).count == modelNames.count, "duplicate parameter names \(modelNames)")
        #expect(modelNames.sorted() == fixture.entry.weights.map(\.name))
        for weight in fixture.entry.weights {
            #expect(model.parameters[weight.name]?.shape == weight.shape, "\(weight.name)")
            #expect(fixture.weights[weight.name]?.shape == weight.shape, "\(weight.name)")
        }
        // Layer and input names are Keras's, in Keras's order (a functional model's `model.layers`
        // by depth from the outputs, as Keras's map_graph orders them; the inputs' positions too).
        let inputNames = try model.inputSignature().map(\.name)
        #expect(try model.kerasLayerOrder == fixture.entry.layers)
        #expect(Set(inputNames + (try model.layerNames())) == Set(fixture.entry.layers))
        #expect(try model.inputSignature().map { [fixture.inputs[0].shape[0]] + $0.shape } == fixture.entry.inputShapes)
    }

    @Test("output matches Keras within 1e-5 (and JIT matches reference within 1e-5)",
          arguments: KerasFixture.caseNames, engines)
    func matchesKeras(_ name: String, engine: Engine) throws {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        try model.setParameters(fixture.weights.tensors, source: fixture.entry.weightsFile)

        let outputs = try model.predict(fixture.inputs, engine: engine)
        #expect(outputs.map(\.shape) == fixture.entry.outputShapes)
        #expect(outputs.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        let versusKeras = maxAbsoluteDifference(outputs, fixture.outputs)
        #expect(versusKeras <= Self.tolerance, "\(name) on \(engine): max abs diff vs Keras \(versusKeras)")

        if case .jit = engine.kind {
            let reference = try model.predict(fixture.inputs, engine: .reference)
            let versusReference = maxAbsoluteDifference(outputs, reference)
            #expect(versusReference <= Self.tolerance,
                    "\(name) on \(engine): max abs diff vs reference \(versusReference)")
        }
    }

    @Test("the JIT tier in use is the one requested", arguments: [CompilationTier.instant, .optimized])
    func tierInUse(_ tier: CompilationTier) throws {
        let model = KerasFixture.makeModel("cnn_rect")
        let compiled = try model.compiled(batchSize: 3, tier: tier)
        #expect(compiled.activeBackend == (tier == .instant ? .tcc : .clang))
    }

    @Test("predictions are deterministic: the same input twice gives bit-identical output",
          arguments: [Engine.reference, .jit(tier: .instant)])
    func deterministic(_ engine: Engine) throws {
        let fixture = try KerasFixture.load("attention")
        let model = KerasFixture.makeModel("attention")
        try model.setParameters(fixture.weights.tensors)
        let first = try model.predict(fixture.inputs, engine: engine)
        let second = try model.predict(fixture.inputs, engine: engine)
        #expect(first == second)
    }

    @Test("each batch row is independent: row i of a batch equals the model run on row i alone",
          arguments: ["cnn_strided_same", "lstm_sequences", "attention", "two_input_concat"])
    func batchRowsIndependent(_ name: String) throws {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        try model.setParameters(fixture.weights.tensors)
        let batched = try model.predict(fixture.inputs, engine: .jit(tier: .instant))
        for row in 0..<fixture.inputs[0].shape[0] {
            let single = fixture.inputs.map { slice($0, row: row) }
            let alone = try model.predict(single, engine: .jit(tier: .instant))
            let expected = batched.map { slice($0, row: row) }
            #expect(maxAbsoluteDifference(alone, expected) <= Self.tolerance, "\(name) row \(row)")
        }
    }

    private func slice(_ tensor: Tensor, row: Int) -> Tensor {
        let per = tensor.shape.dropFirst().elementCount
        return Tensor(shape: [1] + tensor.shape.dropFirst(), uncheckedScalars: Array(tensor.scalars[(row * per)..<((row + 1) * per)]))
    }
}
