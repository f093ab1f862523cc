import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

/// Reading and writing the safetensors format, the weight format of Hugging Face, MLX and Keras 3.
///
/// A safetensors file is an 8-byte little-endian header length `N`, then `N` bytes of JSON mapping
/// each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional
/// `"__metadata__"` object of strings), then the raw little-endian tensor data.
///
/// GraphJIT writes `F32` exactly as the reference Python/Rust implementation does — same header
/// bytes, same data layout — and reads `F32`, `F16`, `BF16` and `F64`, converting to `Float`.
///
/// ```swift
/// try Safetensors.write(["dense.kernel": kernel, "dense.bias": bias], to: url, metadata: ["format": "keras"])
/// let file = try Safetensors.read(contentsOf: url)
/// let kernel = file["dense.kernel"]
/// ```
public enum Safetensors {
    // MARK: - Reading

    /// Reads the safetensors file at `url`.
    /// - Throws: ``SafetensorsError`` naming `url` if the file is malformed; Foundation's error if it
    ///   cannot be read.
    public static func read(contentsOf url: URL) throws -> SafetensorsFile {
        let data = try FileIO.read(url)
        do {
            return try decode(data)
        } catch var error as SafetensorsError {
            error.file = url
            throw error
        }
    }

    /// Decodes the bytes of a safetensors file.
    /// - Throws: ``SafetensorsError`` if the bytes are malformed.
    public static func decode(_ data: Data) throws -> SafetensorsFile {
        try data.withUnsafeBytes { try decode(bytes: $0) }
    }

    /// Decodes a safetensors file held in `bytes` (valid only for the duration of the call).
    private static func decode(bytes: UnsafeRawBufferPointer) throws -> SafetensorsFile {
        if let other = FileFormat.sniff(bytes), other != .safetensors { throw SafetensorsError(.notSafetensors(other.name)) }
        guard bytes.count >= 8 else { throw SafetensorsError(.fileTooShort(byteCount: bytes.count)) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError(.headerLengthBeyondFile(headerLength: headerLength, bytesAvailable: bytes.count - 8))
        }
        let dataStart = 8 + Int(headerLength)
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        let header = try SafetensorsHeader(json: Array(bytes[8 ..< dataStart]), dataByteCount: data.count)

        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(header.entries.count)
        for entry in header.entries {
            // The header checked that the range lies inside `data` and matches dtype × shape.
            let scalars = entry.dtype.decode(UnsafeRawBufferPointer(rebasing: data[entry.dataRange]))
            tensors[entry.name] = Tensor(shape: entry.shape, uncheckedScalars: scalars)
        }
        return SafetensorsFile(names: header.entries.map(\.name), tensors: tensors, metadata: header.metadata)
    }

    // MARK: - Writing

    /// Encodes `tensors` as an `F32` safetensors file, byte for byte as the reference implementation
    /// writes it: compact JSON header, tensors sorted by name and stored back to back, header padded
    /// with spaces to a multiple of 8 bytes. (Metadata keys are sorted too; the reference leaves
    /// their order to a hash map.)
    /// - Parameters:
    ///   - tensors: the tensors by name.
    ///   - metadata: free-form strings stored under `__metadata__` (omitted when empty).
    /// - Throws: ``SafetensorsError`` if a tensor is named `__metadata__`.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        try encode(tensors, bfloat16: [], metadata: metadata)
    }

    /// ``encode(_:metadata:)`` with the tensors named in `bfloat16` stored as `BF16`: their values'
    /// top 16 bits, exact for values that are bfloat16 numbers (a bf16 model's kernels), the rest
    /// rounded to nearest even.
    static func encode(_ tensors: [String: Tensor], bfloat16: Set<String>, metadata: [String: String]) throws -> Data {
        guard tensors[SafetensorsHeader.metadataKey] == nil else {
            throw SafetensorsError(.reservedName(SafetensorsHeader.metadataKey))
        }
        let names = sortedNames(tensors.keys)
        let header = SafetensorsHeader(names: names, shapes: tensors.mapValues(\.shape),
                                       dtypes: Dictionary(uniqueKeysWithValues: bfloat16.map { ($0, .bfloat16) }),
                                       metadata: metadata)
        let headerBytes = header.serialized()
        let dataByteCount = header.entries.last?.dataRange.upperBound ?? 0

        var data = Data(capacity: 8 + headerBytes.count + dataByteCount)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for name in names {
            if bfloat16.contains(name) {
                LittleEndianFloats.appendBFloat16(tensors[name]!.scalars, to: &data)
            } else {
                LittleEndianFloats.append(tensors[name]!.scalars, to: &data)
            }
        }
        return data
    }

    /// Writes `tensors` to `url` as an `F32` safetensors file (see ``encode(_:metadata:)``): a regular
    /// file is replaced atomically, a FIFO or device written through (see ``FileIO/write(_:to:)``).
    public static func write(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws {
        try write(tensors, bfloat16: [], to: url, metadata: metadata)
    }

    /// ``write(_:to:metadata:)`` with the tensors named in `bfloat16` stored as `BF16`.
    static func write(_ tensors: [String: Tensor], bfloat16: Set<String>, to url: URL, metadata: [String: String]) throws {
        let data: Data
        do {
            data = try encode(tensors, bfloat16: bfloat16, metadata: metadata)
        } catch var error as SafetensorsError {
            error.file = url
            throw error
        }
        try FileIO.write(data, to: url)
    }

    // MARK: - Names

    /// `names` in the order the reference implementation writes them: by UTF-8 bytes.
    static func sortedNames(_ names: some Sequence<String>) -> [String] {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
