/// How a layer's weights are stored and multiplied (Keras's `model.quantize(mode)`).
public enum QuantizationMode: String, Sendable, Hashable, CaseIterable {
    /// Keras 3's int8: the kernel quantized once per output channel (`127 / (max|W| + 1e-7)`),
    /// every input row quantized the same way at call time, int32 products rescaled to float.
    case int8
    /// Weight-only bfloat16 (GraphJIT's, beyond Keras): every Dense kernel rounded to the nearest
    /// bf16 (ties to even) and stored in 16 bits, half of float32; inputs and arithmetic stay float32.
    case bf16
}
