import Foundation
import CGraphJITRuntime

/// A loss as Keras 3's TensorFlow backend computes it in `fit`, per sample, before the batch mean.
///
/// Each case's formulas (the value per sample and its gradient) are written here once for the
/// reference; the C runtime's `gj_loss_*` routines compute the same (`GJ_ABI_LOSSES` in `gj_abi.h`).
public enum LossFunction: String, CaseIterable, Hashable, Sendable {
    /// Categorical cross-entropy from logits: `Σ_c y_c (logsumexp(z) − z_c)`
    /// (`tf.nn.softmax_cross_entropy_with_logits`, what Keras uses for a softmax output).
    case categoricalCrossentropyFromLogits = "categorical_crossentropy_from_logits"
    /// Categorical cross-entropy from probabilities: `p ← clip(p / Σp, 1e-7, 1 − 1e-7)`,
    /// `−Σ_c y_c log p_c`; the clip passes no gradient where it clips.
    case categoricalCrossentropy = "categorical_crossentropy"
    /// Sparse categorical cross-entropy from logits, the target an integer class per sample.
    case sparseCategoricalCrossentropyFromLogits = "sparse_categorical_crossentropy_from_logits"
    /// Sparse categorical cross-entropy from probabilities (normalized and clipped as above).
    case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"
    /// Mean squared error over the last axis: `mean_c (p_c − y_c)²`.
    case meanSquaredError = "mean_squared_error"

    /// Keras's clipping epsilon (`keras.config.epsilon()`).
    public static let epsilon: Float = 1e-7

    /// The runtime's value for it (a `GJ_LOSS_*` constant of `gj_abi.h`).
    public var runtimeValue: Int32 {
        switch self {
        case .categoricalCrossentropyFromLogits: Int32(GJ_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS)
        case .categoricalCrossentropy: Int32(GJ_LOSS_CATEGORICAL_CROSSENTROPY)
        case .sparseCategoricalCrossentropyFromLogits: Int32(GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS)
        case .sparseCategoricalCrossentropy: Int32(GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
        case .meanSquaredError: Int32(GJ_LOSS_MEAN_SQUARED_ERROR)
        }
    }

    /// The name of the runtime constant in generated C (`GJ_LOSS_MEAN_SQUARED_ERROR`).
    public var runtimeName: String { "GJ_LOSS_" + rawValue.uppercased() }

    /// Whether the target holds one integer class per sample rather than a row per sample.
    public var hasSparseTarget: Bool {
        self == .sparseCategoricalCrossentropy || self == .sparseCategoricalCrossentropyFromLogits
    }

    /// The target's shape for a prediction of `shape` (`[batch, classes]`).
    public func targetShape(for shape: [Int]) -> [Int] { hasSparseTarget ? Array(shape.dropLast()) : shape }

    /// The loss of each row of `prediction` (`rows × classes`) and its gradient with respect to the
    /// prediction, in `Double`. A sparse target that is not a class index gives NaN.
    public func evaluate(prediction: ArraySlice<Float>, target: ArraySlice<Float>) -> (loss: Double, gradient: [Double]) {
        let p = prediction.map(Double.init)
        let classes = p.count
        let y: [Double]
        if hasSparseTarget {
            let label = Double(target.first!)
            guard label >= 0, label < Double(classes), label == label.rounded() else {
                return (.nan, Array(repeating: .nan, count: classes))
            }
            y = (0..<classes).map { $0 == Int(label) ? 1 : 0 }
        } else {
            y = target.map(Double.init)
        }
        switch self {
        case .categoricalCrossentropyFromLogits, .sparseCategoricalCrossentropyFromLogits:
            let maximum = p.max()!
            let sum = p.reduce(0) { $0 + exp($1 - maximum) }
            let logSumExp = maximum + log(sum)
            let targetSum = y.reduce(0, +)
            let loss = zip(y, p).reduce(0) { $0 + $1.0 * (logSumExp - $1.1) }
            return (loss, zip(p, y).map { exp($0 - logSumExp) * targetSum - $1 })
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy:
            let sum = p.reduce(0, +)
            let epsilon = Double(Self.epsilon), upper = Double(1 - Self.epsilon)
            let q = p.map { $0 / sum }
            let kept = q.map { $0 >= epsilon && $0 <= upper }
            let clipped = q.map { min(max($0, epsilon), upper) }
            let loss = -zip(y, clipped).reduce(0) { $0 + $1.0 * log($1.1) }
            // d/dp_j of −Σ_c y_c log clip(p_c/S): only unclipped entries pass a gradient.
            let passing = (0..<classes).reduce(0.0) { kept[$1] ? $0 + y[$1] : $0 }
            return (loss, (0..<classes).map { j in ((kept[j] ? -y[j] / q[j] : 0) + passing) / sum })
        case .meanSquaredError:
            let n = Double(classes)
            let loss = zip(p, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / n
            return (loss, zip(p, y).map { 2 * ($0 - $1) / n })
        }
    }
}
