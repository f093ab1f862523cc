import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// `graphjit explain --model M [--weights W] --input X.npy --saliency S.npy [--attention-weights A.npy]
/// [--integrated-gradients IG.npy] [--class C] [--png OUT.png]`, against the library.
@Suite("Command line: graphjit explain")
struct ExplainCommandTests {
    @Test("attention model: saliency, attention weights, integrated gradients and a PNG, equal to the library's")
    func attention() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 31)
        let x = generator.normalTensor(shape: [2] + TutorialModel.attention.inputShapes[0])
        let input = folder.appending(path: "x.npy")
        try NPY.write(x, to: input)
        let paths = ["s.npy", "a.npy", "ig.npy", "picture.png"].map { folder.appending(path: $0).path }
        let result = try GraphJITExecutable.run([
            "explain", "--model", "attention", "--input", input.path, "--saliency", paths[0],
            "--attention-weights", paths[1], "--integrated-gradients", paths[2], "--png", paths[3], "--steps", "20",
        ])
        #expect(result.status == 0, "\(result.error)")
        let model = TutorialModel.attention.make()
        let saliency = try model.saliency([x], engine: .reference)
        #expect(result.output.contains("classes explained: \(saliency.classes.map(String.init).joined(separator: " "))"))
        let written = try NPY.read(contentsOf: URL(fileURLWithPath: paths[0]))
        #expect(written.shape == x.shape)
        let scale = saliency.values[0].scalars.map(abs).max() ?? 0
        #expect(scale > 0)
        #expect(Difference(written, saliency.values[0]).maxAbsolute <= 1e-5 * scale)
        let weights = try NPY.read(contentsOf: URL(fileURLWithPath: paths[1]))
        #expect(weights.shape == [2, 128, 1])
        #expect(Difference(weights, try model.attentionWeights([x], engine: .reference)).maxAbsolute <= 1e-6)
        let ig = try NPY.read(contentsOf: URL(fileURLWithPath: paths[2]))
        let expected = try model.integratedGradients([x], steps: 20, engine: .reference)
        #expect(Difference(ig, expected.values[0]).maxAbsolute <= 1e-5 * max(expected.values[0].scalars.map(abs).max() ?? 0, 1e-6))
        let png = try Data(contentsOf: URL(fileURLWithPath: paths[3]))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(png.count > 1000)
    }

    @Test("--class explains that class for every sample")
    func explicitClass() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 32)
        let x = generator.normalTensor(shape: [3, 64])
        try NPY.write(x, to: folder.appending(path: "x.npy"))
        let output = folder.appending(path: "s.npy")
        let result = try GraphJITExecutable.run(["explain", "--model", "multitask", "--input", folder.appending(path: "x.npy").path,
                                                 "--saliency", output.path, "--class", "7", "--engine", "reference"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("classes explained: 7 7 7"))
        let expected = try TutorialModel.multitask.make().saliency([x], classes: [7, 7, 7], engine: .reference)
        #expect(try NPY.read(contentsOf: output) == expected.values[0])
    }

    @Test("argument errors before any work", arguments: [
        (["explain", "--model", "cnn", "--input", "/nonexistent.npy", "--saliency", "s.npy", "--saliency", "t.npy"],
         "pass one --saliency for each (got 2)"),
        (["explain", "--model", "lstm", "--input", "/nonexistent.npy", "--saliency", "s.npy", "--steps", "0"],
         "--steps must be 1 to 100000"),
        (["explain", "--model", "lstm", "--input", "/nonexistent.npy", "--saliency", "s.npy", "--class", "-1"],
         "--class must be ≥ 0"),
    ])
    func argumentErrors(_ arguments: [String], _ expected: String) throws {
        let result = try GraphJITExecutable.run(arguments)
        #expect(result.status == 64)
        #expect(result.error.contains(expected), "\(result.error)")
    }

    @Test("--attention-weights for a model without an attention layer, and a class out of range, are one-line errors")
    func modelErrors() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try NPY.write(Tensor.zeros([1, 64]), to: folder.appending(path: "x.npy"))
        let base = ["explain", "--model", "multitask", "--input", folder.appending(path: "x.npy").path,
                    "--saliency", folder.appending(path: "s.npy").path]
        let noAttention = try GraphJITExecutable.run(base + ["--attention-weights", folder.appending(path: "a.npy").path])
        #expect(noAttention.status != 0)
        #expect(noAttention.error.contains("the model has no attention layer"), "\(noAttention.error)")
        let badClass = try GraphJITExecutable.run(base + ["--class", "10"])
        #expect(badClass.status == 1)
        #expect(badClass.error.contains("class 10 is not one of output 'dense_1''s 10 scores"), "\(badClass.error)")
    }

    @Test("crossmodal: one saliency map per input (image and sequence), equal to the library's, and a two-panel PNG")
    func crossmodal() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 33)
        let inputs = TutorialModel.crossmodal.inputShapes.map { generator.normalTensor(shape: [2] + $0) }
        let inputPaths = ["image.npy", "sequence.npy"].map { folder.appending(path: $0).path }
        let saliencyPaths = ["s_image.npy", "s_sequence.npy"].map { folder.appending(path: $0).path }
        for (tensor, path) in Swift.zip(inputs, inputPaths) { try NPY.write(tensor, to: URL(fileURLWithPath: path)) }
        let png = folder.appending(path: "crossmodal.png").path
        let result = try GraphJITExecutable.run(["explain", "--model", "crossmodal", "--input", inputPaths[0], "--input", inputPaths[1],
                                                 "--saliency", saliencyPaths[0], "--saliency", saliencyPaths[1], "--png", png])
        #expect(result.status == 0, "\(result.error)")
        let expected = try TutorialModel.crossmodal.make().saliency(inputs, engine: .jit(tier: .instant))
        for (path, reference) in Swift.zip(saliencyPaths, expected.values) {
            let written = try NPY.read(contentsOf: URL(fileURLWithPath: path))
            let scale = reference.scalars.map(abs).max() ?? 0
            #expect(scale > 0, "both modalities carry gradient")
            #expect(Difference(written, reference).maxAbsolute <= 1e-5 * scale)
        }
        let picture = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(picture.count > 1000)
        // Two panels: the image pair (2·64·4 + 8 wide, 256 high) over the 100 × 32 sequence map.
        let height = Int(picture[20]) << 24 | Int(picture[21]) << 16 | Int(picture[22]) << 8 | Int(picture[23])
        #expect(height == 8 + 64 * 4 + 8 + 32 * 8 + 8)
    }
}
