/// Why a model cannot be quantized.
public enum QuantizationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The layer is quantized already (Keras's `quantize` raises the same).
    case alreadyQuantized(layer: String, mode: QuantizationMode)

    public var description: String {
        switch self {
        case let .alreadyQuantized(layer, mode):
            "layer '\(layer)' is already quantized (\(mode.rawValue)); quantize the float32 model instead"
        }
    }
}
