/// The file formats GraphJIT reads, told apart by their first bytes, so that a file given in the
/// wrong place is named for what it is ("not a safetensors file: it is a NumPy .npy array").
enum FileFormat: Equatable {
    case npy, keras, hdf5, safetensors

    /// A readable name for messages.
    var name: String {
        switch self {
        case .npy: "a NumPy .npy array"
        case .keras: "a zip archive (a .keras model?)"
        case .hdf5: "an HDF5 file (a Keras .h5 model?)"
        case .safetensors: "a safetensors file"
        }
    }

    /// The format `bytes` start like, if any: the magic of `.npy` (`\x93NUMPY`), zip (`PK\x03\x04`)
    /// and HDF5 (`\x89HDF\r\n\x1a\n`); safetensors has no magic, but its 8-byte header length is
    /// followed by `{`.
    static func sniff(_ bytes: UnsafeRawBufferPointer) -> FileFormat? {
        func starts(with magic: [UInt8]) -> Bool { bytes.count >= magic.count && Swift.zip(bytes, magic).allSatisfy { $0 == $1 } }
        if starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return .npy }
        if starts(with: [0x50, 0x4B, 0x03, 0x04]) || starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .keras }
        if starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return .hdf5 }
        if bytes.count > 8, bytes[8] == UInt8(ascii: "{") { return .safetensors }
        return nil
    }
}
