import ArgumentParser
import Foundation
import GraphJIT

/// `graphjit explain`: saliency, integrated gradients, attention weights and a picture of the
/// first sample.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a model's predictions: saliency, integrated gradients, attention weights, a PNG.",
        discussion: """
            Gradients are of the class probability of the first output (each sample's top class, or \
            --class), with respect to every input, as TensorFlow's GradientTape gives them. Integrated \
            gradients use a zero baseline and --steps intervals (trapezoidal rule, as keras-io). The PNG \
            shows the first sample: an image beside its saliency overlay, or a time × feature map with \
            the attention weights as a bar strip.
            """)
    @OptionGroup var options: ModelOptions
    @Option(name: .long, help: "Input .npy (float32, batch first); one per model input.") var input: [String]
    @Option(name: .long, help: "Where to write the saliency .npy (the input's shape); one per model input.")
    var saliency: [String]
    @Option(name: .long, help: "Where to write the attention weights .npy, (batch, timesteps, 1) (models with an attention layer).")
    var attentionWeights: String?
    @Option(name: .long, help: "Where to write the integrated gradients .npy; one per model input.")
    var integratedGradients: [String] = []
    @Option(name: .customLong("class"), parsing: .unconditional, help: "The class to explain for every sample (default: each sample's top class).")
    var explainedClass: Int?
    @Option(name: .long, help: "Where to write a PNG picture of the first sample's explanation.") var png: String?
    @Option(parsing: .unconditional, help: "Intervals of the integrated-gradients path.") var steps = 50
    @Option(help: "jit or reference.") var engine: EngineChoice = .jit
    @Option(help: "JIT tier: automatic (the default, as run), instant or optimized.") var tier: CompilationTier = .automatic
    @Option(parsing: .unconditional, help: "Samples per JIT call.") var batchSize = 32

    mutating func validate() throws {
        try options.refuseIgnoredSeed()
        try validateBatchSize(batchSize)
        guard (1 ... Model.maximumIntegrationSteps).contains(steps) else {
            throw ValidationError("--steps must be 1 to \(Model.maximumIntegrationSteps), got \(steps)")
        }
        if let explainedClass, explainedClass < 0 { throw ValidationError("--class must be ≥ 0, got \(explainedClass)") }
        if case let .builtin(tutorial) = options.model {
            try ModelOptions.checkCount(input.count, tutorial.inputCount, "input", option: "--input")
            try ModelOptions.checkCount(saliency.count, tutorial.inputCount, "input", option: "--saliency")
            if !integratedGradients.isEmpty {
                try ModelOptions.checkCount(integratedGradients.count, tutorial.inputCount, "input", option: "--integrated-gradients")
            }
        }
    }

    func run() throws {
        let model = try options.makeModel()
        let inputCount = try model.inputSignature().count
        try ModelOptions.checkCount(input.count, inputCount, "input", option: "--input")
        try ModelOptions.checkCount(saliency.count, inputCount, "input", option: "--saliency")
        if !integratedGradients.isEmpty {
            try ModelOptions.checkCount(integratedGradients.count, inputCount, "input", option: "--integrated-gradients")
        }
        let attentionLayers = try model.attentionWeightNames()
        if attentionWeights != nil, attentionLayers.isEmpty {
            throw ValidationError("--attention-weights: the model has no attention layer")
        }
        let inputs = try ModelOptions.readInputs(input)
        let chosen: Engine = engine == .jit ? .jit(tier: tier) : .reference
        let samples = inputs.first?.shape.first ?? 0
        let classes = explainedClass.map { Array(repeating: $0, count: samples) }

        let gradients = try model.saliency(inputs, classes: classes, batchSize: batchSize, engine: chosen)
        for (tensor, path) in zip(gradients.values, saliency) { try write(tensor, to: path) }
        print("classes explained: \(gradients.classes.prefix(16).map(String.init).joined(separator: " "))"
              + (gradients.classes.count > 16 ? " …" : ""))
        var weights: Tensor?
        if !attentionLayers.isEmpty {
            weights = try model.attentionWeights(inputs, batchSize: batchSize, engine: chosen)
            if let attentionWeights, let weights { try write(weights, to: attentionWeights) }
        }
        if !integratedGradients.isEmpty {
            let attribution = try model.integratedGradients(inputs, steps: steps, classes: gradients.classes,
                                                            batchSize: batchSize, engine: chosen)
            for (tensor, path) in zip(attribution.values, integratedGradients) { try write(tensor, to: path) }
            if let differences = attribution.scoreDifferences {
                let gap = zip(attribution.sums, differences).map { abs($0 - $1) }.max() ?? 0
                print("integrated gradients: completeness gap max |Σ IG − (F(x) − F(0))| = \(gap)")
            }
        }
        if let png {
            let picture = try ExplanationPicture.render(inputs: inputs, attributions: gradients.values, attentionWeights: weights)
            try picture.write(to: URL(fileURLWithPath: png))
            print("wrote \(png) (\(picture.width)×\(picture.height), sample 0)")
        }
    }

    private func write(_ tensor: Tensor, to path: String) throws {
        try NPY.write(tensor, to: URL(fileURLWithPath: path))
        print("wrote \(path) \(tensor.shape)")
    }
}
