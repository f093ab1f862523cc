import GraphJITIR

/// How much each input element contributed to one class score of each sample: a saliency map or
/// integrated gradients.
public struct Attribution: Sendable {
    /// One tensor per model input, each of that input's shape (samples first).
    public let values: [Tensor]
    /// The class explained for each sample (an index into the output's per-sample values).
    public let classes: [Int]
    /// Integrated gradients only: per sample, the explained score at the input minus at the
    /// baseline, `F(x) − F(x')`. By completeness the attributions of a sample sum to about this.
    public let scoreDifferences: [Float]?

    /// The sum of every attribution of each sample, over all inputs (compare with
    /// ``scoreDifferences``).
    public var sums: [Float] {
        classes.indices.map { sample in
            values.reduce(Float(0)) { total, tensor in
                let width = tensor.shape.dropFirst().elementCount
                return total + tensor.scalars[sample * width ..< (sample + 1) * width].reduce(0, +)
            }
        }
    }
}
