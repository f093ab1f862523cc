import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Files Keras saved (`Tests/KerasFixtures/make_keras_file_fixtures.py`: the tutorial models as
/// Sequential and functional models, trained a few steps, and variants; genuine Keras 2 `.h5`
/// files from tf_keras; Keras 3's legacy `.h5`), read by GraphJIT and checked against Keras.
///
/// Tolerances: predictions within 1e-5 of Keras's on every engine; one more training step from the
/// saved optimizer state within 2e-5 of Keras's loss and 1e-6 of its weights (as the training
/// fixtures), the attention layer's V.bias within 1e-4 (its gradient is a sum of nearly
/// cancelling terms).
@Suite("Keras files: files Keras saved")
struct KerasFileFixtureTests {
    struct Manifest: Decodable {
        let cases: [Case]
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        struct LayerRow: Decodable, Sendable {
            let name: String
            let className: String
            let outputShape: [Int]
            let params: Int
        }
        let name: String
        let file: String
        let ioFile: String
        let format: String
        let modelClass: String
        let modelName: String
        let inputShapes: [[Int]]
        let outputShapes: [[Int]]
        let layers: [LayerRow]
        let trainableParams: Int
        let optimizerParams: Int?
        let optimizerClass: String?
        let iterations: Int?
        let hasResume: Bool
        let summaryText: String?
        var testDescription: String { "\(name) (\(format))" }
    }

    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appending(path: "KerasFiles")

    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: directory.appending(path: "manifest.json")),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else { return [] }
        return manifest.cases
    }()

    static func io(_ testCase: Case) throws -> SafetensorsFile {
        try Safetensors.read(contentsOf: directory.appending(path: testCase.ioFile))
    }

    static func tensors(_ io: SafetensorsFile, _ prefix: String, count: Int) throws -> [Tensor] {
        try (0 ..< count).map { try #require(io["\(prefix).\($0)"], "\(prefix).\($0)") }
    }

    static func maximumDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test("the manifest lists every kind of file")
    func manifest() {
        #expect(Self.cases.count >= 12)
        #expect(Set(Self.cases.map(\.format)) == ["keras3", "keras2-h5", "keras3-h5"])
    }

    @Test("the model, its names and its counts are Keras's, and it predicts as Keras did on every engine",
          arguments: cases)
    func predictions(_ testCase: Case) throws {
        let model = try Model.load(contentsOf: Self.directory.appending(path: testCase.file))
        #expect((model is Sequential) == (testCase.modelClass == "Sequential"))
        #expect(model.name == testCase.modelName)
        #expect(try model.inputSignature().map(\.shape) == testCase.inputShapes)
        let rows = try model.summaryRows()
        #expect(rows.map(\.layer) == testCase.layers.map(\.name))
        #expect(rows.map(\.type) == testCase.layers.map(\.className))
        #expect(rows.map(\.outputShape) == testCase.layers.map(\.outputShape))
        #expect(rows.map(\.parameters) == testCase.layers.map(\.params))
        #expect(try model.parameterCount() == testCase.trainableParams)
        if testCase.format == "keras3", let iterations = testCase.iterations {
            #expect(model.optimizerState()?.iterations == Int64(iterations))
            #expect(try model.summary().contains(" Optimizer params: \(Model.grouped(testCase.optimizerParams ?? -1)) "))
        }
        if let optimizerClass = testCase.optimizerClass {
            let configured = String(describing: try #require(model.trainingConfiguration).optimizer).lowercased()
            #expect(configured.hasPrefix(optimizerClass.lowercased()), "\(configured)")
        }

        let io = try Self.io(testCase)
        let inputs = try Self.tensors(io, "input", count: testCase.inputShapes.count)
        let expected = try Self.tensors(io, "output", count: testCase.outputShapes.count)
        for engine in [Engine.reference, .jit(tier: .instant), .jit(tier: .optimized)] {
            let outputs = try model.predict(inputs, engine: engine)
            for (output, keras) in zip(outputs, expected) {
                #expect(output.shape == keras.shape)
                #expect(Self.maximumDifference(output, keras) <= 1e-5, "\(engine): \(Self.maximumDifference(output, keras))")
            }
        }
    }

    @Test("summary() of a model Keras saved is Keras's own summary, byte for byte (Connected to included)",
          arguments: cases.filter { $0.format == "keras3" })
    func summaryText(_ testCase: Case) throws {
        let model = try Model.load(contentsOf: Self.directory.appending(path: testCase.file))
        let keras = try #require(testCase.summaryText).trimmingCharacters(in: .newlines)
        let ours = try model.summary()
        #expect(ours == keras, "GraphJIT:\n\(ours)\nKeras:\n\(keras)")
    }

    @Test("one more training step from the saved optimizer state is Keras's next step, on both engines",
          arguments: cases.filter(\.hasResume))
    func resume(_ testCase: Case) throws {
        let io = try Self.io(testCase)
        let inputs = try Self.tensors(io, "resume.input", count: testCase.inputShapes.count)
        let targets = try Self.tensors(io, "resume.target", count: testCase.outputShapes.count)
        let kerasLoss = try #require(io["resume.loss"]).scalars[0]
        for engine in [Engine.jit, .reference] {
            let model = try Model.load(contentsOf: Self.directory.appending(path: testCase.file))
            if testCase.name == "variants_functional" {
                // Its step trains through Dropout(0.3), whose random mask GraphJIT cannot draw as
                // TensorFlow does; training through a dropping Dropout is refused, saying so.
                let error = try #require(throws: (any Error).self) { try model.trainOnBatch(inputs, targets, engine: engine) }
                #expect("\(error)".contains("Dropout"), "\(error)")
                continue
            }
            let logs = try model.trainOnBatch(inputs, targets, engine: engine)
            let loss = try #require(logs["loss"])
            #expect(abs(loss - Double(kerasLoss)) <= 2e-5, "\(engine): loss \(loss), Keras \(kerasLoss)")
            #expect(model.optimizerState()?.iterations == Int64((testCase.iterations ?? 0) + 1))
            for name in model.parameters.names {
                let keras = try #require(io["resume.weight.\(name)"], "resume.weight.\(name)")
                let tolerance: Float = name.hasSuffix("V.bias") ? 1e-4 : 1e-6
                let difference = Self.maximumDifference(model.parameters[name]!, keras)
                #expect(difference <= tolerance, "\(engine): \(name) differs by \(difference)")
            }
        }
    }

    @Test("Keras's files re-saved by GraphJIT load back to the same model, weights and optimizer state",
          arguments: cases.filter { $0.format == "keras3" })
    func resave(_ testCase: Case) throws {
        let model = try Model.load(contentsOf: Self.directory.appending(path: testCase.file))
        let url = FileManager.default.temporaryDirectory.appending(path: "graphjit-resave-\(UUID().uuidString).keras")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url)
        let again = try Model.load(contentsOf: url)
        #expect(try again.summaryRows().map(\.layer) == model.summaryRows().map(\.layer))
        #expect(again.parameters == model.parameters)
        #expect(again.trainingConfiguration == model.trainingConfiguration)
        #expect(again.optimizerState()?.iterations == model.optimizerState()?.iterations)
        #expect(again.optimizerState()?.slots == model.optimizerState()?.slots)
        #expect(again.kerasCustomLayers == model.kerasCustomLayers)
    }
}
