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
    var models: [TutorialModel] = TutorialModel.tutorialModels

    @Flag(help: "Short timing windows (a smoke run).")
    var quick = false

    @Option(help: "Write weights, inputs, outputs and graphjit.json here for the peer scripts.")
    var peersDir: String?

    @Option(help: .hidden)
    var memoryProbe: TutorialModel?

    @Flag(help: ArgumentHelp(
        "Serve timings for benchmarks/peers/run_peers.py on stdin/stdout instead (see TimingServer.swift).",
        discussion: "Compiles --models at every batch size (instant, optimized, int8, bf16), prints one ready line, then answers one JSON request per line until end of input."))
    var timingServer = false

    @Flag(help: "Only profile each kernel of --models on both tiers (tcc, clang) at every batch size, and print the table.")
    var kernels = false

    @Flag(help: "Measure compile time against model size (long Activation and Dense chains) instead.")
    var compileScaling = false

    // Training (benchmarks/peers/train_peers.py drives these; see TrainingBenchmark.swift).

    @Option(help: ArgumentHelp(
        "Training: write each model's initial weights, seeded samples and one-hot targets here, then exit.",
        discussion: "Per model: DIR/<model>/weights.safetensors, x.npy, y.0.npy (multitask also y.1.npy), meta.json.",
        valueName: "dir"))
    var trainExport: String?

    @Option(help: "Training: samples --train-export writes; with --train-time, the first samples the loss curve and the fit epoch use (default: all).")
    var trainSamples: Int?

    @Option(help: ArgumentHelp(
        "Training: time one model on the data in --train-dir and print one JSON line, then exit.",
        discussion: """
        From the exported weights, on the optimized (clang) tier: (1) the loss curve, trainOnBatch over \
        the batches of 32 in order (the steps of fit with shuffle off), one loss per step; (2) one warm \
        fit epoch at batch 32, shuffle off; (3) per --batch-size, the median wall time of trainOnBatch \
        on consecutive batches after a warm-up, and samples/s. --quick: fewer timed steps.
        """, valueName: "model"))
    var trainTime: TutorialModel?

    @Option(help: ArgumentHelp("Training: the directory --train-export wrote.", valueName: "dir"))
    var trainDir: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Training: batch sizes --train-time times train steps at.")
    var batchSize: [Int] = [32, 64]

    func run() throws {
        if let trainExport {
            try TrainingExport(directory: URL(fileURLWithPath: trainExport), samples: trainSamples ?? 2048).run(models: models)
            return
        }
        if let trainTime {
            guard let trainDir else { throw ValidationError("--train-time needs --train-dir (written by --train-export)") }
            try TrainingTimer(tutorial: trainTime, directory: URL(fileURLWithPath: trainDir), batchSizes: batchSize,
                              quick: quick, curveSamples: trainSamples).run()
            return
        }
        if timingServer {
            try TimingServer(models: models).run()
            return
        }
        if kernels {
            let profile = KernelProfile(machine: BenchmarkRunner.calibrate(), repetitions: quick ? 5 : 30)
            var records: [KernelRecord] = []
            for tutorial in models {
                let model = tutorial.make(seed: 0)
                for batch in batchSizes(for: tutorial) {
                    let plans = try [CompilationTier.instant, .optimized].map { try model.compiled(batchSize: batch, tier: $0) }
                    records += try profile.profile(tutorial.rawValue, batch, plans, try seededInputs(for: model, batchSize: batch))
                }
            }
            KernelProfile.printTable(records)
            return
        }
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
