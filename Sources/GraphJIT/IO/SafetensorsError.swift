import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

/// An error reading or writing a safetensors file: what is wrong, in which tensor, and in which file.
public struct SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file being read or written, when there is one (`nil` for ``Safetensors/decode(_:)`` and
    /// ``Safetensors/encode(_:metadata:)``).
    public var file: URL?
    /// What is wrong.
    public var reason: Reason

    /// Creates an error for `reason`, optionally naming the file it concerns.
    public init(_ reason: Reason, file: URL? = nil) {
        self.reason = reason
        self.file = file
    }

    // MARK: - Reasons

    /// What is wrong with a safetensors file, with the values expected and found.
    public enum Reason: Equatable, Sendable {
        /// The file is another format (a NumPy `.npy`, a `.keras` zip, an HDF5 file), named.
        case notSafetensors(String)
        /// The file is shorter than the 8-byte header length that starts every safetensors file.
        case fileTooShort(byteCount: Int)
        /// The header length read from the first 8 bytes runs past the end of the file.
        case headerLengthBeyondFile(headerLength: UInt64, bytesAvailable: Int)
        /// The header is not valid UTF-8 JSON, or not a JSON object; `offset` is the byte offset
        /// within the header where parsing failed.
        case invalidJSON(message: String, offset: Int)
        /// The `__metadata__` entry is not an object mapping strings to strings.
        case invalidMetadata(message: String)
        /// Two header entries have the same name.
        case duplicateName(String)
        /// A tensor's header entry is not a JSON object.
        case invalidEntry(tensor: String, found: String)
        /// A tensor entry lacks one of `dtype`, `shape` and `data_offsets`.
        case missingField(tensor: String, field: String)
        /// A tensor entry's field has the wrong kind of value.
        case invalidField(tensor: String, field: String, expected: String, found: String)
        /// A tensor's shape has an extent below zero.
        case negativeExtent(tensor: String, shape: [Int])
        /// A tensor's dtype is not one GraphJIT reads (`F32`, `F16`, `BF16`, `F64`).
        case unsupportedDType(tensor: String, dtype: String)
        /// A tensor's `data_offsets` do not lie within the data section (`begin > end` or
        /// `end > dataByteCount`): usually a truncated file.
        case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataByteCount: Int)
        /// A tensor's byte range is not the size its dtype and shape imply.
        case sizeMismatch(tensor: String, dtype: String, shape: [Int], expectedByteCount: Int, actualByteCount: Int)
        /// Two tensors' byte ranges overlap.
        case overlappingData(tensor: String, range: Range<Int>, other: String, otherRange: Range<Int>)
        /// A tensor to be written is named `__metadata__`, which the format reserves.
        case reservedName(String)
    }

    // MARK: - Description

    /// A one-line message.
    public var description: String {
        let location = file.map { "\($0.path): " } ?? ""
        return location + reason.description
    }
}

extension SafetensorsError.Reason: CustomStringConvertible {
    /// A one-line message.
    public var description: String {
        switch self {
        case let .notSafetensors(format):
            "not a safetensors file: it is \(format)"
        case let .fileTooShort(byteCount):
            "expected at least 8 bytes (the header length), found \(byteCount)"
        case let .headerLengthBeyondFile(headerLength, bytesAvailable):
            "header length \(headerLength) runs past the end of the file: only \(bytesAvailable) bytes follow the length"
        case let .invalidJSON(message, offset):
            "invalid JSON header at byte \(offset): \(message)"
        case let .invalidMetadata(message):
            "invalid __metadata__: \(message)"
        case let .duplicateName(name):
            "tensor '\(name)' appears more than once in the header"
        case let .invalidEntry(tensor, found):
            "tensor '\(tensor)': entry should be an object with dtype, shape and data_offsets, found \(found)"
        case let .missingField(tensor, field):
            "tensor '\(tensor)': missing field '\(field)'"
        case let .invalidField(tensor, field, expected, found):
            "tensor '\(tensor)': field '\(field)' should be \(expected), found \(found)"
        case let .negativeExtent(tensor, shape):
            "tensor '\(tensor)': shape \(shape) has a negative extent"
        case let .unsupportedDType(tensor, dtype):
            "tensor '\(tensor)': unsupported dtype '\(dtype)' (expected F32, F16, BF16 or F64)"
        case let .offsetsOutOfRange(tensor, begin, end, dataByteCount):
            "tensor '\(tensor)': data_offsets [\(begin), \(end)] lie outside the \(dataByteCount)-byte data section"
                + (end > dataByteCount && begin <= end ? " (truncated file?)" : "")
        case let .sizeMismatch(tensor, dtype, shape, expectedByteCount, actualByteCount):
            "tensor '\(tensor)': \(dtype) shape \(shape) needs \(expectedByteCount) bytes, but data_offsets span \(actualByteCount)"
        case let .overlappingData(tensor, range, other, otherRange):
            "tensor '\(tensor)' (bytes \(range.lowerBound)..<\(range.upperBound)) overlaps tensor '\(other)' (bytes \(otherRange.lowerBound)..<\(otherRange.upperBound))"
        case let .reservedName(name):
            "cannot write a tensor named '\(name)': the name is reserved for metadata"
        }
    }
}
