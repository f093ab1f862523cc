/// How a layer's weights are stored and multiplied (Keras's `model.quantize(mode)`).
public enum QuantizationMode: String, Sendable, Hashable, CaseIterable {
    /// Keras 3's int8: the kernel quantized once per output channel (`127 / (max|W| + 1e-7)`),
    /// every input row quantized the same way at call time, int32 products rescaled to float.
    case int8
}
