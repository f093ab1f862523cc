/// How a sliding window treats the borders of its input, as in Keras.
public enum Padding: String, Sendable, CustomStringConvertible {
    /// No padding: windows stay inside the input; output size `floor((n - k) / s) + 1`.
    case valid
    /// Zero padding (ignored taps for pooling) so that the output size is `ceil(n / s)`;
    /// as TensorFlow does, an odd total padding puts the extra row or column at the bottom/right.
    case same

    public var description: String { rawValue }
}
