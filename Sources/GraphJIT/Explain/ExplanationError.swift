/// Why an explanation (intermediate values, saliency, integrated gradients, Grad-CAM, a picture)
/// cannot be made as asked. Errors of the model or its inputs are `GraphError`s, as for `predict`.
public enum ExplanationError: Error, Equatable, CustomStringConvertible {
    /// No computed value has this name; `available` lists those that do (``Model/valueNames()``).
    case unknownValue(name: String, available: [String])
    /// Output `index` does not exist; `outputs` names the model's outputs.
    case noSuchOutput(index: Int, outputs: [String])
    /// `classes` classes were given for `samples` samples (one per sample is needed).
    case classCount(classes: Int, samples: Int)
    /// `class` is not an index into the `scores` values per sample of the output named `output`.
    case classOutOfRange(class: Int, output: String, scores: Int)
    /// The model has no attention layer, or none named `requested`.
    case noAttentionLayer(requested: String?)
    /// Grad-CAM needs a `Conv2D`: `layer` (or the default) is not one of `convolutions`.
    case notAConvolution(layer: String?, convolutions: [String])
    /// Integrated gradients need between 1 and ``Model/maximumIntegrationSteps`` steps.
    case stepsOutOfRange(Int)
    /// `given` baselines for `inputs` inputs.
    case baselineCount(given: Int, inputs: Int)
    /// The baseline of input `input` has shape `shape`; baselines have one sample's shape, `expected`.
    case baselineShape(input: Int, shape: [Int], expected: [Int])
    /// A picture cannot be drawn: the inputs, attributions or size are not what it needs.
    case picture(reason: String)

    /// A one-line message.
    public var description: String {
        switch self {
        case let .unknownValue(name, available):
            "the model has no value named '\(name)'; its values are \(available.joined(separator: ", "))"
        case let .noSuchOutput(index, outputs):
            "output \(index) does not exist: the model has \(outputs.count) (\(outputs.joined(separator: ", ")))"
        case let .classCount(classes, samples):
            "\(classes) classes for \(samples) samples: give one per sample"
        case let .classOutOfRange(explained, output, scores):
            "class \(explained) is not one of output '\(output)''s \(scores) scores"
        case let .noAttentionLayer(requested):
            requested.map { "'\($0)' is not an attention layer of the model" } ?? "the model has no attention layer"
        case let .notAConvolution(layer, convolutions):
            convolutions.isEmpty ? "Grad-CAM needs a Conv2D layer; the model has none"
                : "'\(layer ?? "")' is not a Conv2D layer of the model (those are \(convolutions.joined(separator: ", ")))"
        case let .stepsOutOfRange(steps):
            "integrated gradients need 1 to \(Model.maximumIntegrationSteps) steps, got \(steps)"
        case let .baselineCount(given, inputs):
            "\(given) baselines for \(inputs) inputs: give one per input"
        case let .baselineShape(input, shape, expected):
            "the baseline of input \(input) has shape \(shape); baselines have one sample's shape, \(expected)"
        case let .picture(reason):
            "cannot draw the picture: \(reason)"
        }
    }
}
