import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// `graphjit run|summary|dump|check|fit|convert --model FILE.keras|FILE.h5` on files Keras saved.
@Suite("Keras files: the command line")
struct KerasFileCommandLineTests {
    static func fixture(_ name: String) -> String { KerasFileFixtureTests.directory.appending(path: name).path }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "graphjit-keras-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("run --model FILE.keras writes Keras's predictions; so does a legacy .h5", arguments: [
        ("multitask.keras", "multitask.io.safetensors", 2), ("attention_functional.keras", "attention_functional.io.safetensors", 1),
        ("lstm_legacy_keras2.h5", "lstm_legacy_keras2.io.safetensors", 1),
    ])
    func run(_ file: String, _ io: String, _ outputs: Int) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixture = try Safetensors.read(contentsOf: URL(fileURLWithPath: Self.fixture(io)))
        let input = folder.appending(path: "x.npy")
        try NPY.write(try #require(fixture["input.0"]), to: input)
        let outputPaths = (0 ..< outputs).map { folder.appending(path: "y\($0).npy").path }
        let result = try GraphJITExecutable.run(["run", "--model", Self.fixture(file), "--input", input.path]
                                                + outputPaths.flatMap { ["--output", $0] })
        #expect(result.status == 0, "\(result.error)")
        for (index, path) in outputPaths.enumerated() {
            let written = try NPY.read(contentsOf: URL(fileURLWithPath: path))
            let keras = try #require(fixture["output.\(index)"])
            #expect(KerasFileFixtureTests.maximumDifference(written, keras) <= 1e-5)
        }
    }

    @Test("summary, dump and check accept a Keras file; summary shows Keras's layer names")
    func inspect() throws {
        let summary = try GraphJITExecutable.run(["summary", "--model", Self.fixture("cnn_functional.keras")])
        #expect(summary.status == 0, "\(summary.error)")
        for name in ["input_layer_2 (InputLayer)", "conv2d_3 (Conv2D)", "dense_7 (Dense)", "dense_8 (Dense)",
                     "Optimizer params: 11,382"] {
            #expect(summary.output.contains(name), "\(summary.output)")
        }
        let dump = try GraphJITExecutable.run(["dump", "--model", Self.fixture("lstm_functional.keras"), "--kernels"])
        #expect(dump.status == 0, "\(dump.error)")
        #expect(dump.output.contains("lstm_1"))
        let check = try GraphJITExecutable.run(["check", "--model", Self.fixture("variants_functional.keras")])
        #expect(check.status == 0, "\(check.error)")
    }

    @Test("convert writes a .keras file GraphJIT reads back to the same model")
    func convert() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appending(path: "copy.keras")
        let result = try GraphJITExecutable.run(["convert", "--model", Self.fixture("mlp_rmsprop.keras"), "--output", output.path])
        #expect(result.status == 0, "\(result.error)")
        let original = try Model.load(contentsOf: URL(fileURLWithPath: Self.fixture("mlp_rmsprop.keras")))
        let copy = try Model.load(contentsOf: output)
        #expect(copy.parameters == original.parameters)
        #expect(copy.optimizerState()?.slots == original.optimizerState()?.slots)
        let builtin = try GraphJITExecutable.run(["convert", "--model", "multitask", "--output", folder.appending(path: "m.keras").path])
        #expect(builtin.status == 0, "\(builtin.error)")
        #expect(try Model.load(contentsOf: folder.appending(path: "m.keras")).parameters == TutorialModel.multitask.make().parameters)
    }

    @Test("fit --model FILE.keras resumes Keras's optimizer and saves a .keras file with the next state")
    func fit() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixture = try Safetensors.read(contentsOf: URL(fileURLWithPath: Self.fixture("lstm_sequential.io.safetensors")))
        try NPY.write(try #require(fixture["resume.input.0"]), to: folder.appending(path: "x.npy"))
        try NPY.write(try #require(fixture["resume.target.0"]), to: folder.appending(path: "y.npy"))
        let saved = folder.appending(path: "trained.keras")
        let result = try GraphJITExecutable.run(["fit", "--model", Self.fixture("lstm_sequential.keras"),
                                                 "--input", folder.appending(path: "x.npy").path,
                                                 "--target", folder.appending(path: "y.npy").path, "--batch-size", "4",
                                                 "--no-shuffle", "--save-weights", saved.path])
        #expect(result.status == 0, "\(result.error)")
        let trained = try Model.load(contentsOf: saved)
        #expect(trained.optimizerState()?.iterations == 4)
        for name in trained.parameters.names {
            let keras = try #require(fixture["resume.weight.\(name)"])
            #expect(KerasFileFixtureTests.maximumDifference(trained.parameters[name]!, keras) <= 1e-6, "\(name)")
        }
    }

    @Test("a missing, hostile or misnamed model file is a one-line error naming it", arguments: [
        (["summary", "--model", "/nonexistent/model.keras"], "cannot read /nonexistent/model.keras"),
        (["summary", "--model", "/etc/hostname.keras"], "cannot read"),
        (["summary", "--model", "model.onnx"], "--model"),
    ])
    func errors(_ arguments: [String], _ expected: String) throws {
        let result = try GraphJITExecutable.run(arguments)
        #expect(result.status != 0 && result.status < 128)
        #expect(result.error.contains(expected), "\(result.error)")
    }

    @Test("a corrupt model file given on the command line names the file and the problem")
    func corruptFile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bad = folder.appending(path: "bad.keras")
        try Data("PK\u{3}\u{4} truncated".utf8).write(to: bad)
        let result = try GraphJITExecutable.run(["run", "--model", bad.path, "--input", "/dev/null", "--output", "/dev/null"])
        #expect(result.status != 0 && result.status < 128)
        #expect(result.error.contains("bad.keras: not a readable zip archive"), "\(result.error)")
    }
}
