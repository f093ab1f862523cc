import ArgumentParser
import Foundation
import GraphJIT

/// The seed-model benchmark: the four tutorial models at batch 1 and 64 (multitask also 256), on
/// the reference interpreter and both JIT tiers, with compile times, per-kernel GFLOP/s against
/// the machine's measured peak, memory, and (with --peers-dir) the exports the peer scripts need.
@main
struct GraphJITBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphjit-bench",
        abstract: "Benchmark GraphJIT on the tutorial's seed models (built-in seeded weights).")

    @Option(name: .long, parsing: .upToNextOption, help: "Models to run (default: all).")
    var models: [TutorialModel] = TutorialModel.allCases

    @Flag(help: "Short timing windows (a smoke run).")
    var quick = false

    @Option(help: "Write weights, inputs, outputs and graphjit.json here for the peer scripts.")
    var peersDir: String?

    @Option(help: .hidden)
    var memoryProbe: TutorialModel?

    @Flag(help: "Measure compile time against model size (long Activation and Dense chains) instead.")
    var compileScaling = false

    func run() throws {
        if compileScaling {
            try CompileScaling().run()
            return
        }
        if let memoryProbe {
            try MemoryProbeRun(model: memoryProbe).run()
            return
        }
        var runner = BenchmarkRunner(quick: quick, peersDirectory: peersDir.map { URL(fileURLWithPath: $0) })
        try runner.run(models: models)
    }
}

extension TutorialModel: ExpressibleByArgument {}

/// The batch sizes each model is measured at.
func batchSizes(for model: TutorialModel) -> [Int] {
    model == .multitask ? [1, 64, 256] : [1, 64]
}

/// Seeded standard-normal inputs for a model at a batch size.
func seededInputs(for model: Model, batchSize: Int) throws -> [Tensor] {
    var generator = SeededGenerator(seed: 7)
    return try model.inputSignature().map { generator.normalTensor(shape: [batchSize] + $0.shape) }
}
