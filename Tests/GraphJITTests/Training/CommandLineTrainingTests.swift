import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// `graphjit fit` and `graphjit evaluate` write what the library computes, as Keras's History and
/// `evaluate(return_dict=True)` would be written.
@Suite("Command line: fit and evaluate")
struct CommandLineTrainingTests {
    /// `graphjit arguments`, with standard output and error together.
    static func graphjit(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try GraphJITExecutable.run(arguments)
        return (result.status, result.output + result.error)
    }

    @Test("fit then evaluate the multitask model: files match the library's own run")
    func fitAndEvaluate() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "graphjit-cli-fit-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appending(path: name).path }
        var generator = SeededGenerator(seed: 4)
        let x = generator.normalTensor(shape: [24, 64])
        let y1 = Tensor(shape: [24, 10], uncheckedScalars: (0..<240).map { $0 % 10 == ($0 / 10 * 3) % 10 ? 1 : 0 })
        let y2 = Tensor(shape: [24, 5], uncheckedScalars: (0..<120).map { $0 % 5 == ($0 / 5) % 5 ? 1 : 0 })
        try NPY.write(x, to: URL(fileURLWithPath: path("x.npy")))
        try NPY.write(y1, to: URL(fileURLWithPath: path("y1.npy")))
        try NPY.write(y2, to: URL(fileURLWithPath: path("y2.npy")))
        let fit = try Self.graphjit(["fit", "--model", "multitask", "--input", path("x.npy"), "--target", path("y1.npy"),
                                     "--target", path("y2.npy"), "--epochs", "2", "--batch-size", "8", "--no-shuffle",
                                     "--learning-rate", "0.01", "--validation-split", "0.25",
                                     "--save-weights", path("w.safetensors"), "--history", path("h.json")])
        #expect(fit.status == 0, "\(fit.output)")
        // The same run in the library.
        let model = TutorialModel.multitask.make()
        model.compile(optimizer: .adam(learningRate: 0.01), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        let history = try model.fit([x], [y1, y2], batchSize: 8, epochs: 2, shuffle: false, validationSplit: 0.25,
                                    verbose: .silent)
        let written = try JSONDecoder().decode([String: [Double]].self, from: Data(contentsOf: URL(fileURLWithPath: path("h.json"))))
        #expect(written == history.history)
        let weights = try Safetensors.read(contentsOf: URL(fileURLWithPath: path("w.safetensors")))
        #expect(weights.tensors == model.parameters.dictionary)

        let evaluate = try Self.graphjit(["evaluate", "--model", "multitask", "--weights", path("w.safetensors"),
                                          "--input", path("x.npy"), "--target", path("y1.npy"), "--target", path("y2.npy"),
                                          "--batch-size", "8", "--json", path("e.json")])
        #expect(evaluate.status == 0, "\(evaluate.output)")
        let results = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: URL(fileURLWithPath: path("e.json"))))
        #expect(results == (try model.evaluate([x], [y1, y2], batchSize: 8)))
        #expect(Set(results.keys) == ["loss", "dense_1_loss", "dense_2_loss", "dense_1_accuracy", "dense_2_accuracy"])

        let missing = try Self.graphjit(["fit", "--model", "multitask", "--input", path("x.npy"), "--target", path("y1.npy"),
                                         "--save-weights", path("w2.safetensors")])
        #expect(missing.status != 0 && missing.output.contains("pass one --target for each"), "\(missing.output)")
    }
}
