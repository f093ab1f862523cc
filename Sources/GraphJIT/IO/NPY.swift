import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

/// Reading and writing NumPy `.npy` files holding little-endian float32 arrays in C order.
///
/// Files are written exactly as `numpy.save` writes a C-contiguous `float32` array (format version
/// 1.0, header padded to 64 bytes). Files of format versions 1.0, 2.0 and 3.0 are read; any dtype
/// other than `'<f4'`, Fortran order, or data that does not match the shape is an ``NPYError``.
///
/// ```swift
/// let images = try NPY.read(contentsOf: url)          // np.save("images.npy", x.astype("float32"))
/// try NPY.write(probabilities, to: outputURL)
/// ```
public enum NPY {
    /// The only dtype read or written: little-endian IEEE float32.
    static let float32Descr = "<f4"

    // MARK: - Reading

    /// Reads the `.npy` file at `url`.
    /// - Throws: ``NPYError`` naming `url` if the file is malformed or not C-order float32;
    ///   Foundation's error if it cannot be read.
    public static func read(contentsOf url: URL) throws -> Tensor {
        let data = try FileIO.read(url)
        do {
            return try decode(data)
        } catch var error as NPYError {
            error.file = url
            throw error
        }
    }

    /// Reads the `.npy` file at `url`, converting a float64, float16, integer or boolean array to
    /// float32 (what `x.astype(np.float32)` gives). Returns the dtype converted from, if any.
    public static func readConverting(contentsOf url: URL) throws -> (tensor: Tensor, convertedFrom: String?) {
        let data = try FileIO.read(url)
        do {
            return try decode(data, converting: true)
        } catch var error as NPYError {
            error.file = url
            throw error
        }
    }

    /// Decodes the bytes of a `.npy` file.
    /// - Throws: ``NPYError`` if the bytes are malformed or not C-order float32.
    public static func decode(_ data: Data) throws -> Tensor {
        try decode(data, converting: false).tensor
    }

    /// The dtypes ``readConverting(contentsOf:)`` converts, with their element sizes.
    static let convertibleDTypes: [String: Int] = ["<f8": 8, "<f2": 2, "|i1": 1, "|u1": 1, "|b1": 1, "<i2": 2, "<u2": 2,
                                                   "<i4": 4, "<u4": 4, "<i8": 8, "<u8": 8]

    private static func decode(_ data: Data, converting: Bool) throws -> (tensor: Tensor, convertedFrom: String?) {
        try data.withUnsafeBytes { bytes in
            let (header, dataOffset) = try NPYHeader.decode(bytes)
            if header.descr != float32Descr, converting, let size = convertibleDTypes[header.descr] {
                guard !header.isFortranOrder else { throw NPYError(.fortranOrder(shape: header.shape)) }
                let (expected, overflow) = header.shape.elementCount.multipliedReportingOverflow(by: size)
                guard !overflow, expected == bytes.count - dataOffset else {
                    throw NPYError(.dataSizeMismatch(shape: header.shape, expectedByteCount: overflow ? .max : expected,
                                                     actualByteCount: bytes.count - dataOffset))
                }
                let scalars = convert(UnsafeRawBufferPointer(rebasing: bytes[dataOffset...]), descr: header.descr, size: size)
                return (Tensor(shape: header.shape, uncheckedScalars: scalars), header.descr)
            }
            guard header.descr == float32Descr else { throw NPYError(.unsupportedDType(header.descr)) }
            guard !header.isFortranOrder else { throw NPYError(.fortranOrder(shape: header.shape)) }

            // The header checked that the element count does not overflow; the byte count still may.
            let (expectedByteCount, overflow) = header.shape.elementCount.multipliedReportingOverflow(by: 4)
            let actualByteCount = bytes.count - dataOffset
            guard expectedByteCount == actualByteCount, !overflow else {
                throw NPYError(.dataSizeMismatch(shape: header.shape, expectedByteCount: overflow ? .max : expectedByteCount,
                                                 actualByteCount: actualByteCount))
            }
            let scalars = LittleEndianFloats.decodeFloat32(UnsafeRawBufferPointer(rebasing: bytes[dataOffset...]))
            return (Tensor(shape: header.shape, uncheckedScalars: scalars), nil)
        }
    }

    /// Little-endian elements of `descr` as float32 (rounded to nearest, as NumPy's `astype`).
    private static func convert(_ bytes: UnsafeRawBufferPointer, descr: String, size: Int) -> [Float] {
        switch descr {
        case "<f8": return LittleEndianFloats.decodeFloat64(bytes)
        case "<f2": return LittleEndianFloats.decodeFloat16(bytes)
        default: break
        }
        let signed = descr.dropFirst().first == "i"
        return stride(from: 0, to: bytes.count, by: size).map { offset in
            var bits: UInt64 = 0
            for byte in 0 ..< size { bits |= UInt64(bytes[offset + byte]) << (8 * byte) }
            if signed, size < 8, bits & (1 << (8 * size - 1)) != 0 { bits |= ~((1 << (8 * size)) - 1) }  // sign-extend
            return signed ? Float(Int64(bitPattern: bits)) : Float(bits)
        }
    }

    // MARK: - Writing

    /// Encodes `tensor` byte for byte as `numpy.save` writes a C-contiguous float32 array.
    public static func encode(_ tensor: Tensor) -> Data {
        let header = NPYHeader(descr: float32Descr, isFortranOrder: false, shape: tensor.shape).encoded()
        var data = Data(capacity: header.count + 4 * tensor.elementCount)
        data.append(contentsOf: header)
        LittleEndianFloats.append(tensor.scalars, to: &data)
        return data
    }

    /// Writes `tensor` to `url` as a `.npy` file (see ``encode(_:)``): a regular file is replaced
    /// atomically, a FIFO or device written through (see ``FileIO/write(_:to:)``).
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try FileIO.write(encode(tensor), to: url)
    }
}
