import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The element types GraphJIT reads from safetensors files, each converted to `Float` on load.
///
/// `F32` is what GraphJIT writes; `F16`, `BF16` and `F64` are what Keras and PyTorch checkpoints
/// often hold. Integer and 8-bit float dtypes are reported as unsupported.
enum SafetensorsDType: String, CaseIterable, Sendable {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float64 = "F64"

    /// The size of one element in bytes.
    var byteSize: Int {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .float64: 8
        }
    }

    /// Converts the little-endian elements in `bytes` to `Float`.
    /// - Precondition: `bytes.count` is a multiple of ``byteSize``.
    func decode(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        switch self {
        case .float32: LittleEndianFloats.decodeFloat32(bytes)
        case .float16: LittleEndianFloats.decodeFloat16(bytes)
        case .bfloat16: LittleEndianFloats.decodeBFloat16(bytes)
        case .float64: LittleEndianFloats.decodeFloat64(bytes)
        }
    }
}
