import ArgumentParser
import Foundation
import GraphJIT

/// `graphjit fit`: trains a built-in model on .npy data as Keras's `fit` does, then saves the weights.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on .npy data (Adam, categorical cross-entropy, accuracy, as the tutorial compiles it).",
        discussion: "--seed seeds both the default weights (without --weights) and the shuffle.")
    @OptionGroup var options: ModelOptions
    @Option(name: .long, help: "Input .npy (float32, batch first); one per model input.") var input: [String]
    @Option(name: .long, help: "Target .npy (one-hot, float32); one per model output, in order.") var target: [String]
    @Option(parsing: .unconditional, help: "Passes over the data.") var epochs = 1
    @Option(parsing: .unconditional, help: "Samples per step.") var batchSize = 32
    @Flag(help: "Keep the samples in order (Keras shuffle=False).") var noShuffle = false
    @Option(help: "The optimizer's learning rate (default: Adam's 0.001).") var learningRate: Double?
    @Option(parsing: .unconditional, help: "Fraction of the samples (the last ones) kept for validation.")
    var validationSplit = 0.0
    @Option(help: "jit or reference.") var engine: EngineChoice = .jit
    @Option(help: "Where to write the trained model: FILE.safetensors (weights) or FILE.keras (model, weights, optimizer).")
    var saveWeights: String
    @Option(help: "Where to write Keras's History.history as JSON (key -> one value per epoch).") var history: String?

    func validate() throws {
        try validateBatchSize(batchSize)
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard validationSplit >= 0, validationSplit < 1 else {
            throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)")
        }
    }

    func run() throws {
        let model = try options.makeModel()
        if model.trainingConfiguration == nil {  // a Keras file saved before compile: compile as the tutorial does
            let outputs = try model.outputNames().count
            model.compile(optimizer: .adam(), loss: .categoricalCrossentropy,
                          metrics: Array(repeating: .accuracy, count: outputs))
        }
        if let learningRate { try model.setLearningRate(learningRate) }  // keeps a resumed optimizer's state
        let (inputs, targets) = try readData(model: model, inputs: input, targets: target)
        let result = try model.fit(inputs, targets, batchSize: batchSize, epochs: epochs, shuffle: !noShuffle,
                                   validationSplit: validationSplit, verbose: .auto, seed: options.seed ?? 0,
                                   engine: engine == .jit ? .jit : .reference)
        try model.save(to: URL(fileURLWithPath: saveWeights))
        print("wrote \(saveWeights)")
        if let history {
            try FileIO.write(result.jsonData(), to: URL(fileURLWithPath: history))
            print("wrote \(history)")
        }
    }
}

/// `graphjit evaluate`: the loss and metrics of a model on .npy data, as Keras's `evaluate`.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Loss and metrics of a model on .npy data.")
    @OptionGroup var options: ModelOptions
    @Option(name: .long, help: "Input .npy; one per model input.") var input: [String]
    @Option(name: .long, help: "Target .npy; one per model output, in order.") var target: [String]
    @Option(parsing: .unconditional, help: "Samples per step.") var batchSize = 32
    @Option(help: "jit or reference.") var engine: EngineChoice = .jit
    @Option(help: "Where to write Keras's evaluate(return_dict=True) as JSON.") var json: String?

    func validate() throws { try validateBatchSize(batchSize) }

    func run() throws {
        let model = try options.makeModel()
        let (inputs, targets) = try readData(model: model, inputs: input, targets: target)
        let results = try model.evaluate(inputs, targets, batchSize: batchSize, engine: engine == .jit ? .jit : .reference)
        for key in try model.metricsNames() { print("\(key): \(results[key].map { String($0) } ?? "-")") }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try FileIO.write(encoder.encode(results), to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}

/// Reads the .npy inputs and targets, checking their counts against the model before reading.
private func readData(model: Model, inputs: [String], targets: [String]) throws -> ([Tensor], [Tensor]) {
    let inputCount = try model.inputSignature().count
    let outputs = try model.outputNames()
    guard inputs.count == inputCount else {
        throw ValidationError("the model takes \(inputCount) input(s); pass one --input for each (got \(inputs.count))")
    }
    guard targets.count == outputs.count else {
        throw ValidationError("the model has \(outputs.count) output(s) (\(outputs.joined(separator: ", "))); pass one "
                              + "--target for each, in order (got \(targets.count))")
    }
    return (try ModelOptions.readInputs(inputs), try ModelOptions.readInputs(targets))
}
