import GraphJITIR

/// Grad-CAM heat maps of a convolutional layer: where in each image the layer saw evidence for
/// the explained class (keras-io's `grad_cam.py`).
public struct GradCAM: Sendable {
    /// `(samples, height, width)` of the layer's output: `ReLU(Σₖ αₖ Aₖ)` divided by its maximum per
    /// sample (all zero when that maximum is 0), so each map lies in [0, 1].
    public let heatmaps: Tensor
    /// The same maps before the division.
    public let rawHeatmaps: Tensor
    /// The class explained for each sample.
    public let classes: [Int]
    /// The convolutional layer whose output the maps weigh.
    public let layer: String
}
