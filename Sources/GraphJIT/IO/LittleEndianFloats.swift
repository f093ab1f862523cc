import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

// Every file format GraphJIT reads or writes stores little-endian data, and GraphJIT copies that data
// to and from `[Float]` storage byte for byte. That is only correct on a little-endian host, which
// covers every platform Swift ships for (x86_64, arm64); refuse to build anywhere else rather than
// silently byte-swap weights.
#if !_endian(little)
#error("GraphJIT's file IO assumes a little-endian host")
#endif

/// Conversions between little-endian floating-point bytes in files and `[Float]`.
///
/// This is the one place in `IO/` that touches raw memory. Every function reads from or writes to a
/// caller-provided byte range and never keeps a pointer past its own return.
enum LittleEndianFloats {
    // MARK: - Reading

    /// Copies `bytes` (IEEE 754 binary32, little-endian, any alignment) into a new array.
    /// - Precondition: `bytes.count` is a multiple of 4.
    static func decodeFloat32(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        precondition(bytes.count % 4 == 0, "binary32 data of \(bytes.count) bytes")
        let count = bytes.count / 4
        return [Float](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            // 1. `buffer` has room for exactly `count` floats, i.e. `bytes.count` bytes.
            // 2. `copyMemory` is a memmove: it needs no alignment of the source, and `Float` is a
            //    trivial type, so its bytes may be written without initializing it first.
            // 3. On a little-endian host (checked above) the file's bytes are the in-memory bytes.
            if count > 0 {
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            }
            initializedCount = count
        }
    }

    /// Converts `bytes` (IEEE 754 binary16, little-endian, any alignment) to `Float`, exactly.
    /// - Precondition: `bytes.count` is a multiple of 2.
    static func decodeFloat16(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        precondition(bytes.count % 2 == 0, "binary16 data of \(bytes.count) bytes")
        return (0 ..< bytes.count / 2).map { index in
            floatFromHalf(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
        }
    }

    /// Converts `bytes` (bfloat16, little-endian, any alignment) to `Float`, exactly.
    /// - Precondition: `bytes.count` is a multiple of 2.
    static func decodeBFloat16(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        precondition(bytes.count % 2 == 0, "bfloat16 data of \(bytes.count) bytes")
        return (0 ..< bytes.count / 2).map { index in
            // bfloat16 is the upper half of a binary32 bit pattern.
            let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
            return Float(bitPattern: UInt32(bits) << 16)
        }
    }

    /// Converts `bytes` (IEEE 754 binary64, little-endian, any alignment) to `Float`, rounding to
    /// nearest as NumPy's `astype(np.float32)` does.
    /// - Precondition: `bytes.count` is a multiple of 8.
    static func decodeFloat64(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        precondition(bytes.count % 8 == 0, "binary64 data of \(bytes.count) bytes")
        return (0 ..< bytes.count / 8).map { index in
            let bits = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
            return Float(Double(bitPattern: bits))
        }
    }

    // MARK: - Writing

    /// Appends `scalars` to `data` as little-endian binary32.
    static func append(_ scalars: [Float], to data: inout Data) {
        // On a little-endian host (checked above) the in-memory bytes are the file's bytes.
        scalars.withUnsafeBufferPointer { data.append($0) }
    }

    /// Appends `scalars` to `data` as little-endian bfloat16, each rounded as
    /// `Bf16MatMulOp.rounded(_:)` rounds it (exact for bfloat16 values).
    static func appendBFloat16(_ scalars: [Float], to data: inout Data) {
        let halves = scalars.map { UInt16(truncatingIfNeeded: Bf16MatMulOp.rounded($0).bitPattern >> 16).littleEndian }
        halves.withUnsafeBufferPointer { data.append($0) }
    }

    // MARK: - Half precision

    /// The `Float` with the same value as the binary16 bit pattern `bits` (NaN payloads kept).
    ///
    /// Written out with bit operations rather than `Float16`, which Swift does not offer on every
    /// platform (macOS on x86_64 lacks it).
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2⁻²⁴, which binary32 represents exactly.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            // Infinity or NaN: widen the payload.
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            // Normal: rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}
