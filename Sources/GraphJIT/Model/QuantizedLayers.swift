/// Which layers ``Model/quantized(_:layers:)`` compresses.
public struct QuantizedLayers: OptionSet, Sendable, Hashable {
    public let rawValue: Int

    /// A set from its raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `Dense` layers, the attention layer's `W` and `V` included: what Keras's
    /// `model.quantize("int8")` quantizes.
    public static let dense = QuantizedLayers(rawValue: 1 << 0)
    /// `Conv2D` kernels (GraphJIT's own): the convolution becomes patches (im2col) times the
    /// compressed kernel; with int8 each output position's patch is quantized as a Dense input row is.
    public static let conv2D = QuantizedLayers(rawValue: 1 << 1)
    /// `LSTM` input kernels (GraphJIT's own): every timestep's input projection; the recurrent kernel
    /// stays float32.
    public static let lstm = QuantizedLayers(rawValue: 1 << 2)

    /// What Keras quantizes: ``dense``.
    public static let keras: QuantizedLayers = [.dense]
    /// Every layer GraphJIT can compress.
    public static let all: QuantizedLayers = [.dense, .conv2D, .lstm]
}
