import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// What a newcomer meets on the command line: argument errors before any work (with the
/// subcommand's usage), files named for what they are, `check` that can fail a CI job, `--version`.
@Suite("Command line: a newcomer's first hour")
struct CommandLineUsabilityTests {
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "graphjit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A `.npy` holding `values` as little-endian float64 (what `np.save` of a float64 array writes).
    static func float64NPY(_ values: [Double], shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        data.append(contentsOf: withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian, Array.init))
        data.append(contentsOf: Array(header.utf8))
        for value in values { data.append(contentsOf: withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)) }
        return data
    }

    @Test("argument errors come before any work, with the subcommand's usage", arguments: [
        (["run", "--model", "multitask", "--input", "/nonexistent.npy", "--output", "y.npy"],
         "the model has 2 outputs; pass one --output for each (got 1)"),
        (["summary", "--model", "cnn", "--weights", "w.safetensors", "--seed", "3"], "--seed only seeds a built-in model"),
        (["check", "--model", "lstm", "--tolerance", "-1"], "--tolerance must be a finite number"),
    ])
    func argumentErrors(_ arguments: [String], _ expected: String) throws {
        let result = try GraphJITExecutable.run(arguments)
        #expect(result.status == 64)
        #expect(result.error.contains(expected), "\(result.error)")
        #expect(result.error.contains("Usage: graphjit \(arguments[0])"), "\(result.error)")
    }

    @Test("check exits 1 when the JIT and the reference differ by more than --tolerance")
    func checkTolerance() throws {
        let passing = try GraphJITExecutable.run(["check", "--model", "multitask", "--tolerance", "1"])
        #expect(passing.status == 0, "\(passing.error)")
        #expect(passing.output.contains("check passed"))
        let strict = try GraphJITExecutable.run(["check", "--model", "cnn", "--tolerance", "0", "--tier", "instant"])
        let exact = strict.output.contains("max abs diff 0.0,")  // one output: JIT and reference identical
        #expect(strict.status == (exact ? 0 : 1), "\(strict.output)\(strict.error)")
        if strict.status == 1 { #expect(strict.error.contains("check FAILED: max abs diff")) }
    }

    @Test("--version, and --help listing every built-in model with its input and output shapes")
    func versionAndHelp() throws {
        let version = try GraphJITExecutable.run(["--version"])
        #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines) == GraphJITVersion.current)
        let help = try GraphJITExecutable.run(["run", "--help"])
        let collapsed = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // the help wraps
        for line in TutorialModel.signatures.split(separator: "\n") {
            #expect(collapsed.contains(line), "\(help.output)")
        }
        #expect(help.output.contains("multitask: input (batch, 64) -> (batch, 10), (batch, 5)"))
    }

    @Test("a .npy given as --weights is named for what it is")
    func sniffedWeights() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let npy = folder.appending(path: "x.npy")
        try NPY.write(Tensor.zeros([2, 64]), to: npy)
        let result = try GraphJITExecutable.run(["summary", "--model", "multitask", "--weights", npy.path])
        #expect(result.status != 0)
        #expect(result.error.contains("not a safetensors file: it is a NumPy .npy array"), "\(result.error)")
    }

    @Test("a float64 .npy input is converted to float32 with a warning, and predicts as the float32 one")
    func float64Input() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 5)
        let input = generator.normalTensor(shape: [3, 64])
        try Self.float64NPY(input.scalars.map(Double.init), shape: input.shape).write(to: folder.appending(path: "x64.npy"))
        let outputs = ["a.npy", "b.npy"].map { folder.appending(path: $0).path }
        let result = try GraphJITExecutable.run(["run", "--model", "multitask", "--input", folder.appending(path: "x64.npy").path,
                                                 "--output", outputs[0], "--output", outputs[1], "--engine", "reference"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("converted <f8 to float32"))
        let expected = try TutorialModel.multitask.make().predict([input], engine: .reference)
        #expect(try NPY.read(contentsOf: URL(fileURLWithPath: outputs[0])) == expected[0])
        #expect(try NPY.read(contentsOf: URL(fileURLWithPath: outputs[1])) == expected[1])
    }

    @Test("NPY: integer and float16 arrays convert as astype(np.float32) does; the strict reader names the fix")
    func npyConversion() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appending(path: "x.npy")
        try Self.float64NPY([1.5, -2, 3e300], shape: [3]).write(to: url)
        let (tensor, from) = try NPY.readConverting(contentsOf: url)
        #expect(from == "<f8")
        #expect(tensor.scalars == [1.5, -2, .infinity])
        let error = try #require(throws: NPYError.self) { try NPY.read(contentsOf: url) }
        #expect(error.description.contains("x.astype(np.float32)"))
    }

    @Test("run and check default to the library's automatic tier; a many-batch run exits cleanly with the right outputs")
    func defaultTier() throws {
        for command in ["run", "check"] {  // the help text wraps: compare with whitespace collapsed
            let help = try GraphJITExecutable.run([command, "--help"]).output
            #expect(help.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("default: automatic)"), "\(help)")
        }

        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 9)
        let input = generator.normalTensor(shape: [50, 64])
        let inputURL = folder.appending(path: "x.npy")
        try NPY.write(input, to: inputURL)
        let outputs = ["a.npy", "b.npy"].map { folder.appending(path: $0).path }
        // 7 calls of the batch-8 plan: the automatic tier starts clang at the second, and the
        // command waits for it before exiting (no clang cut off, nothing for a leak checker): the
        // object is in the cache when the command has exited.
        let cache = folder.appending(path: "kernel-cache")
        let result = try GraphJITExecutable.run(["run", "--model", "multitask", "--input", inputURL.path,
                                                 "--output", outputs[0], "--output", outputs[1], "--batch-size", "8"],
                                                // (no -O2 runtime copy: only the model's kernels land in this cache)
                                                environment: ["GRAPHJIT_CACHE_DIR": cache.path, "GRAPHJIT_OPTIMIZED_RUNTIME": "0"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.isEmpty, "\(result.error)")
        let cached = (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []
        #expect(cached.contains { $0.hasPrefix("graphjit_model-") && $0.hasSuffix(".so") }, "\(cached)")
        #expect(!cached.contains { $0.hasSuffix(".tmp") }, "no compile was cut off: \(cached)")
        let expected = try TutorialModel.multitask.make().predict([input], engine: .reference)
        for (path, reference) in Swift.zip(outputs, expected) {
            #expect(Difference(try NPY.read(contentsOf: URL(fileURLWithPath: path)), reference).maxAbsolute <= 1e-5)
        }
    }

    @Test("a file that cannot be written is one line naming it", arguments: ["fit", "evaluate"])
    func unwritableReport(_ command: String) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 2)
        try NPY.write(generator.normalTensor(shape: [4, 64]), to: folder.appending(path: "x.npy"))
        try NPY.write(Tensor.oneHot([1, 2, 3, 4], classes: 10), to: folder.appending(path: "y1.npy"))
        try NPY.write(Tensor.oneHot([0, 1, 2, 3], classes: 5), to: folder.appending(path: "y2.npy"))
        let report = folder.appending(path: "missing-folder/report.json").path
        var arguments = [command, "--model", "multitask", "--input", folder.appending(path: "x.npy").path,
                         "--target", folder.appending(path: "y1.npy").path, "--target", folder.appending(path: "y2.npy").path,
                         "--engine", "reference"]
        arguments += command == "fit" ? ["--save-weights", folder.appending(path: "w.safetensors").path, "--history", report]
                                      : ["--json", report]
        let result = try GraphJITExecutable.run(arguments)
        #expect(result.status == 1)
        let lines = result.error.split(separator: "\n")
        #expect(lines.count == 1, "\(result.error)")
        #expect(result.error.contains("cannot write \(report)"), "\(result.error)")
        #expect(!result.error.contains("NSCocoaErrorDomain"))
    }
}
