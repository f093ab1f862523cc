import ArgumentParser
import Foundation
import GraphJIT

@main
struct GraphJITCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphjit",
        abstract: "Run Keras-style models through GraphJIT's fused C kernels.",
        version: GraphJITVersion.current,
        subcommands: [Summary.self, Dump.self, Run.self, Check.self, Explain.self, Fit.self, Evaluate.self, Convert.self]
    )

    /// Runs the command, then lets background compiles of the automatic tier finish (only models
    /// called more than once start one), so no clang is cut off at exit. Errors print as one line
    /// naming the file (``CommandLineError``).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
            CompiledModel.waitForBackgroundOptimizations()
        } catch {
            CompiledModel.waitForBackgroundOptimizations()
            exit(withError: CommandLineError.presentable(error))
        }
    }
}

// MARK: - Shared options

struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A built-in tutorial model or a Keras model file (FILE.keras, or a legacy FILE.h5).",
                                            discussion: TutorialModel.signatures))
    var model: ModelChoice

    @Option(name: .long, help: "Weights (safetensors) to load instead of the seeded defaults (or the file's).")
    var weights: String?

    @Option(name: .long, help: "Seed of the default weights of a built-in model (default 0).")
    var seed: UInt64?

    /// Refuses `--seed` where it would be silently ignored (with `--weights` or a model file).
    func refuseIgnoredSeed() throws {
        if seed != nil, weights != nil || { if case .file = model { true } else { false } }() {
            throw ValidationError("--seed only seeds a built-in model's default weights; it has no effect with "
                                  + "--weights or a model file")
        }
    }

    func makeModel() throws -> Model {
        let built: Model
        switch model {
        case let .builtin(tutorial): built = tutorial.make(seed: seed ?? 0)
        case let .file(path): built = try Model.load(contentsOf: URL(fileURLWithPath: path))
        }
        if let weights { try built.loadWeights(from: URL(fileURLWithPath: weights)) }
        return built
    }

    /// Reads one `.npy` per `paths`, converting float64, float16 and integer arrays to float32 with a warning.
    static func readInputs(_ paths: [String]) throws -> [Tensor] {
        try paths.map { path in
            let (tensor, convertedFrom) = try NPY.readConverting(contentsOf: URL(fileURLWithPath: path))
            if let convertedFrom {
                FileHandle.standardError.write(Data("warning: \(path): converted \(convertedFrom) to float32\n".utf8))
            }
            return tensor
        }
    }

    /// Refuses, before any work, a count of files that differs from the model's inputs or outputs.
    static func checkCount(_ given: Int, _ expected: Int, _ what: String, option: String) throws {
        guard given == expected else {
            throw ValidationError("the model has \(expected) \(what)\(expected == 1 ? "" : "s"); pass one \(option) for each "
                                  + "(got \(given))")
        }
    }
}

/// `--model`: a built-in name or the path of a Keras file.
enum ModelChoice: ExpressibleByArgument {
    case builtin(TutorialModel)
    case file(String)

    init?(argument: String) {
        if let tutorial = TutorialModel(rawValue: argument) {
            self = .builtin(tutorial)
        } else if [".keras", ".h5"].contains(where: { argument.lowercased().hasSuffix($0) }) {
            self = .file(argument)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { TutorialModel.allCases.map(\.rawValue) + ["FILE.keras", "FILE.h5"] }
}

enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case jit, reference
}

extension CompilationTier: ExpressibleByArgument {}
extension QuantizationMode: ExpressibleByArgument {}

/// Batch sizes are positive (parsed unconditionally, so `-5` reaches this check instead of
/// being taken for an option).
func validateBatchSize(_ batchSize: Int) throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
}

/// `--quantize MODE [--quantize-layers ...]`: the model as `model.quantized(MODE, layers:)` makes it.
struct QuantizationOption: ParsableArguments {
    @Option(help: "Compress the model's kernels first: int8 (as Keras's model.quantize(\"int8\")) or bf16 (weight-only).")
    var quantize: QuantizationMode?

    @Option(parsing: .upToNextOption,
            help: "With --quantize, the layers compressed: dense (what Keras quantizes; the default), conv2d, lstm.")
    var quantizeLayers: [QuantizedLayerKind] = [.dense]

    func validate() throws {
        if quantize == nil && quantizeLayers != [.dense] {
            throw ValidationError("--quantize-layers needs --quantize MODE")
        }
    }

    func apply(to model: Model) throws -> Model {
        let layers = QuantizedLayers(quantizeLayers.map(\.layers))
        return try quantize.map { try model.quantized($0, layers: layers) } ?? model
    }
}

/// A layer kind `--quantize-layers` names.
enum QuantizedLayerKind: String, ExpressibleByArgument, CaseIterable {
    case dense, conv2d, lstm

    var layers: QuantizedLayers {
        switch self {
        case .dense: .dense
        case .conv2d: .conv2D
        case .lstm: .lstm
        }
    }
}

// MARK: - Commands

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save a model (built-in or read from a file) as a Keras 3 .keras file, or its weights as .safetensors.")
    @OptionGroup var options: ModelOptions
    @Option(name: .long, help: "The file to write: FILE.keras (the whole model) or FILE.safetensors (weights).")
    var output: String
    @OptionGroup var quantization: QuantizationOption

    func validate() throws { try options.refuseIgnoredSeed() }

    func run() throws {
        try quantization.apply(to: options.makeModel()).save(to: URL(fileURLWithPath: output))
        print("wrote \(output)")
    }
}

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print layers, output shapes and parameter counts.")
    @OptionGroup var options: ModelOptions
    @OptionGroup var quantization: QuantizationOption

    func validate() throws { try options.refuseIgnoredSeed() }

    func run() throws {
        print(try quantization.apply(to: options.makeModel()).summary(showingCompileConfiguration: true))
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the static graph (and with --kernels the fused C kernels).")
    @OptionGroup var options: ModelOptions
    @Option(parsing: .unconditional, help: "Batch size of the graph.") var batchSize = 1
    @Flag(help: "Print the fused kernel groups and their generated C source.") var kernels = false
    @Flag(help: "The train step instead (forward, loss, backward and Adam, as fit runs it).") var trainStep = false
    @OptionGroup var quantization: QuantizationOption

    func validate() throws {
        try options.refuseIgnoredSeed()
        try validateBatchSize(batchSize)
    }

    func run() throws {
        let model = try quantization.apply(to: options.makeModel())
        let compiled = trainStep ? try model.compiledTrainStep(batchSize: batchSize, tier: .instant) : nil
        print((try compiled?.graph ?? model.makeGraph(batchSize: batchSize)).dump())
        guard kernels else { return }
        let plan = try compiled ?? model.compiled(batchSize: batchSize, tier: .instant)
        print("\n// \(plan.module.kernels.count) fused kernels")
        for kernel in plan.module.kernels {
            let chains = kernel.group.branches.map { branch in
                branch.map { "\($0.layer):\($0.operation.mnemonic)" }.joined(separator: " -> ")
            }
            print("//   \(kernel.name): " + chains.joined(separator: " | "))
        }
        print()
        print(plan.module.source)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a model on .npy inputs and write .npy outputs.")
    @OptionGroup var options: ModelOptions
    @Option(name: .long, help: "Input .npy (float32, C order, batch first); one per model input.") var input: [String]
    @Option(name: .long, help: "Output .npy; one per model output, in order.") var output: [String]
    @Option(help: "jit or reference.") var engine: EngineChoice = .jit
    @Option(help: "JIT tier: automatic (tcc at once, clang in the background from the second batch on, as the library), instant (tcc only) or optimized (clang first).")
    var tier: CompilationTier = .automatic
    @Option(parsing: .unconditional, help: "Samples per JIT call (Keras's predict batch size).") var batchSize = 32
    @OptionGroup var quantization: QuantizationOption

    mutating func validate() throws {
        try options.refuseIgnoredSeed()
        try validateBatchSize(batchSize)
        // Counts of a built-in model are checked before anything is read (a file's after it is read).
        if case let .builtin(tutorial) = options.model {
            try ModelOptions.checkCount(input.count, tutorial.inputCount, "input", option: "--input")
            try ModelOptions.checkCount(output.count, tutorial.outputCount, "output", option: "--output")
        }
    }

    func run() throws {
        let model = try quantization.apply(to: options.makeModel())
        try ModelOptions.checkCount(input.count, try model.inputSignature().count, "input", option: "--input")
        try ModelOptions.checkCount(output.count, try model.outputNames().count, "output", option: "--output")
        let inputs = try ModelOptions.readInputs(input)
        let chosen: Engine = engine == .jit ? .jit(tier: tier) : .reference
        let outputs = try model.predict(inputs, batchSize: batchSize, engine: chosen)
        for (tensor, path) in zip(outputs, output) {
            try NPY.write(tensor, to: URL(fileURLWithPath: path))
            print("wrote \(path) \(tensor.shape)")
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the JIT and the reference on seeded random inputs and compare.")
    @OptionGroup var options: ModelOptions
    @Option(parsing: .unconditional, help: "Batch size.") var batchSize = 2
    @Option(help: "JIT tier: automatic (the default, as run), instant or optimized.") var tier: CompilationTier = .automatic
    @Option(parsing: .unconditional, help: "The largest max abs difference allowed between the JIT and the reference; exit 1 above it.")
    var tolerance = 1e-4

    func validate() throws {
        try options.refuseIgnoredSeed()
        try validateBatchSize(batchSize)
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a finite number ≥ 0") }
    }

    func run() throws {
        let model = try options.makeModel()
        // The inputs are made here: check they fit before allocating them (compiling checks the rest).
        let graph = try model.makeGraph(batchSize: batchSize)
        let inputFloats = graph.inputs.reduce(0) { Int.saturatingSum($0, graph[$1].shape.elementCount) }
        try MemoryBudget.check(MemoryBudget.bytes(ofFloats: inputFloats), for: "the seeded inputs of batch size \(batchSize)")
        var generator = SeededGenerator(seed: 1234)
        let inputs = try model.inputSignature().map { generator.normalTensor(shape: [batchSize] + $0.shape) }
        let jit = try model.predict(inputs, engine: .jit(tier: tier))
        let reference = try model.predict(inputs, engine: .reference)
        var worst = 0.0
        for (index, (actual, expected)) in zip(jit, reference).enumerated() {
            let difference = Difference(actual, expected)
            worst = max(worst, Double(difference.maxAbsolute))
            print("output \(index) \(actual.shape): max abs diff \(difference.maxAbsolute), max rel diff \(difference.maxRelative)")
        }
        // NaN compares false: a NaN difference (one engine finite where the other is not) fails too.
        guard worst <= tolerance else {
            FileHandle.standardError.write(Data("check FAILED: max abs diff \(worst) exceeds --tolerance \(tolerance)\n".utf8))
            throw ExitCode(1)
        }
        print("check passed: max abs diff \(worst) ≤ \(tolerance)")
    }
}
