import GraphJITIR

/// Pictures of one sample's explanation, one panel per model input, stacked top to bottom:
/// - an image input (`height × width × channels`): the image, and beside it the image in grey
///   overlaid with the heat map (`max` over channels of `|attribution|`, as keras-io's vanilla
///   saliency);
/// - a sequence input (`timesteps × features`): a time × feature heat map of `|attribution|`
///   (time left to right), and under it, for a model with an attention layer, its weights over
///   time as a bar strip;
/// - a vector input: one row of cells.
///
/// Heat is `|attribution|` divided by its largest value in the panel, coloured from black (none)
/// through red to pale yellow (the largest).
public enum ExplanationPicture {
    private static let margin = 8
    private static let background = RGB(255, 255, 255)

    /// Renders sample `sample` of `inputs` with its `attributions` (one per input, the inputs'
    /// shapes) and, optionally, attention weights `(samples, timesteps, 1)`.
    /// - Throws: `ExplanationError.picture(reason:)` when the shapes disagree or an input is not
    ///   a vector, sequence or image.
    public static func render(inputs: [Tensor], attributions: [Tensor], attentionWeights: Tensor? = nil,
                              sample: Int = 0) throws -> PNGImage {
        guard inputs.count == attributions.count, !inputs.isEmpty else {
            throw ExplanationError.picture(reason: "\(attributions.count) attributions for \(inputs.count) inputs")
        }
        var panels: [PNGImage] = []
        for (position, (input, attribution)) in Swift.zip(inputs, attributions).enumerated() {
            guard input.shape == attribution.shape, input.shape.first.map({ (0 ..< $0).contains(sample) }) == true else {
                throw ExplanationError.picture(reason: "input \(position) of shape \(input.shape) with attributions of shape "
                                              + "\(attribution.shape), sample \(sample)")
            }
            guard input.shape.allSatisfy({ $0 > 0 }) else {
                throw ExplanationError.picture(reason: "input \(position) has shape \(input.shape): nothing to draw")
            }
            let x = try input[sample], a = try attribution[sample]
            switch x.rank {
            case 3: panels.append(try imagePanel(x, a))
            case 2:
                let weights = try attentionWeights.map { weights -> [Float] in
                    guard weights.shape.count == 3, weights.shape[1] == x.shape[0] else {
                        throw ExplanationError.picture(reason: "attention weights of shape \(weights.shape) for a sequence "
                                                      + "of \(x.shape[0]) timesteps")
                    }
                    return try weights[sample].scalars
                }
                panels.append(try sequencePanel(x, a, attentionWeights: weights))
            case 1: panels.append(try sequencePanel(Tensor(shape: [x.shape[0], 1], uncheckedScalars: x.scalars),
                                                    Tensor(shape: [x.shape[0], 1], uncheckedScalars: a.scalars),
                                                    attentionWeights: nil))
            default:
                throw ExplanationError.picture(reason: "input \(position) has samples of shape \(x.shape): pictures show "
                                              + "vectors, sequences (timesteps, features) and images (height, width, channels)")
            }
        }
        let width = panels.map(\.width).max()! + 2 * margin
        let height = panels.reduce(margin) { $0 + $1.height + margin }
        var picture = try PNGImage(width: width, height: height, color: background)
        var y = margin
        for panel in panels {
            picture.draw(panel, x: margin, y: y)
            y += panel.height + margin
        }
        return picture
    }

    /// `|values|` divided by their largest (all 0 when that is 0 or not finite).
    private static func normalizedMagnitudes(_ values: [Float]) -> [Float] {
        let magnitudes = values.map { $0.isNaN ? 0 : abs($0) }
        let largest = magnitudes.filter(\.isFinite).max() ?? 0
        return largest > 0 ? magnitudes.map { min($0 / largest, 1) } : magnitudes.map { _ in 0 }
    }

    private static func imagePanel(_ image: Tensor, _ attribution: Tensor) throws -> PNGImage {
        let (height, width, channels) = (image.shape[0], image.shape[1], image.shape[2])
        let scale = max(1, min(16, 256 / max(height, width)))
        // The image stretched to [0, 1] by one minimum and maximum over all its channels (grey for
        // other than 3 channels).
        let low = image.scalars.filter(\.isFinite).min() ?? 0, high = image.scalars.filter(\.isFinite).max() ?? 1
        func intensity(_ value: Float) -> Float { high > low ? (value - low) / (high - low) : 0.5 }
        var saliency = [Float](repeating: 0, count: height * width)
        for pixel in 0 ..< height * width {
            saliency[pixel] = (0 ..< channels).map { abs(attribution.scalars[pixel * channels + $0]) }.max() ?? 0
        }
        let heat = normalizedMagnitudes(saliency)
        var panel = try PNGImage(width: 2 * width * scale + margin, height: height * scale, color: background)
        for row in 0 ..< height {
            for column in 0 ..< width {
                let base = (row * width + column) * channels
                let values = (0 ..< channels).map { intensity(image.scalars[base + $0]) }
                let grey = values.reduce(0, +) / Float(channels)
                func byte(_ value: Float) -> UInt8 { UInt8((min(max(value.isNaN ? 0 : value, 0), 1) * 255).rounded()) }
                let original = channels == 3 ? RGB(byte(values[0]), byte(values[1]), byte(values[2]))
                                             : RGB(byte(grey), byte(grey), byte(grey))
                let strength = heat[row * width + column]
                let overlay = RGB(byte(grey), byte(grey), byte(grey)).mixed(with: .heat(strength), 0.25 + 0.65 * strength)
                panel.fill(x: column * scale, y: row * scale, width: scale, height: scale, color: original)
                panel.fill(x: (width + column) * scale + margin, y: row * scale, width: scale, height: scale, color: overlay)
            }
        }
        return panel
    }

    private static func sequencePanel(_ sequence: Tensor, _ attribution: Tensor, attentionWeights: [Float]?) throws -> PNGImage {
        let (steps, features) = (sequence.shape[0], sequence.shape[1])
        let cellWidth = max(1, min(16, 768 / steps)), cellHeight = max(1, min(16, 256 / features))
        let heat = normalizedMagnitudes(attribution.scalars)
        let stripHeight = attentionWeights == nil ? 0 : 64
        var panel = try PNGImage(width: steps * cellWidth, height: features * cellHeight + (stripHeight > 0 ? margin + stripHeight : 0),
                                 color: background)
        for step in 0 ..< steps {
            for feature in 0 ..< features {
                panel.fill(x: step * cellWidth, y: feature * cellHeight, width: cellWidth, height: cellHeight,
                           color: .heat(heat[step * features + feature]))
            }
        }
        if let attentionWeights {
            let top = features * cellHeight + margin
            let largest = attentionWeights.filter(\.isFinite).max() ?? 0
            panel.fill(x: 0, y: top, width: panel.width, height: stripHeight, color: RGB(240, 240, 240))
            for (step, weight) in attentionWeights.enumerated() {
                // Weights are a softmax's (in [0, 1]); anything else is clamped into the strip.
                let fraction = largest > 0 && weight.isFinite ? min(max(weight / largest, 0), 1) : 0
                let bar = Int((fraction * Float(stripHeight)).rounded())
                panel.fill(x: step * cellWidth, y: top + stripHeight - bar, width: max(1, cellWidth - (cellWidth > 2 ? 1 : 0)),
                           height: bar, color: RGB(249, 142, 9))
            }
        }
        return panel
    }
}
