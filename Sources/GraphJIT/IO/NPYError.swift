import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

/// An error reading a NumPy `.npy` file: what is wrong, with the values expected and found, and in
/// which file.
public struct NPYError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file being read, when there is one (`nil` for ``NPY/decode(_:)``).
    public var file: URL?
    /// What is wrong.
    public var reason: Reason

    /// Creates an error for `reason`, optionally naming the file it concerns.
    public init(_ reason: Reason, file: URL? = nil) {
        self.reason = reason
        self.file = file
    }

    // MARK: - Reasons

    /// What is wrong with a `.npy` file.
    public enum Reason: Equatable, Sendable {
        /// The file does not start with `\x93NUMPY`; `found` holds its first (up to 6) bytes.
        case badMagic(found: [UInt8])
        /// The format version is not 1.0, 2.0 or 3.0.
        case unsupportedVersion(major: Int, minor: Int)
        /// The file ends before the header does.
        case truncatedHeader(expectedByteCount: Int, actualByteCount: Int)
        /// The header is not a Python dictionary with exactly the keys `descr`, `fortran_order` and
        /// `shape`, or one of them has the wrong kind of value.
        case malformedHeader(message: String, header: String)
        /// The array's dtype is not little-endian float32 (`'<f4'`); holds the `descr` as written.
        case unsupportedDType(String)
        /// The array is stored in Fortran (column-major) order; GraphJIT reads C order only.
        case fortranOrder(shape: [Int])
        /// The data after the header is not the size the shape implies.
        case dataSizeMismatch(shape: [Int], expectedByteCount: Int, actualByteCount: Int)
    }

    // MARK: - Description

    /// A one-line message.
    public var description: String {
        let location = file.map { "\($0.path): " } ?? ""
        return location + reason.description
    }
}

extension NPYError.Reason: CustomStringConvertible {
    /// A one-line message.
    public var description: String {
        switch self {
        case let .badMagic(found):
            "not a .npy file: expected the magic string \\x93NUMPY, found "
                + (found.isEmpty ? "an empty file" : found.map { String(format: "%02x", $0) }.joined(separator: " "))
        case let .unsupportedVersion(major, minor):
            "unsupported .npy format version \(major).\(minor) (expected 1.0, 2.0 or 3.0)"
        case let .truncatedHeader(expectedByteCount, actualByteCount):
            "file ends inside the header: expected at least \(expectedByteCount) bytes, found \(actualByteCount)"
        case let .malformedHeader(message, header):
            "malformed header: \(message), in \(header)"
        case let .unsupportedDType(descr):
            "unsupported dtype '\(descr)' (expected '<f4', little-endian float32: save it with "
                + "np.save(path, x.astype(np.float32)))"
        case let .fortranOrder(shape):
            "array of shape \(shape) is stored in Fortran order; only C order is supported"
                + " (save it with np.ascontiguousarray)"
        case let .dataSizeMismatch(shape, expectedByteCount, actualByteCount):
            "float32 shape \(shape) needs \(expectedByteCount) bytes of data, but the file holds \(actualByteCount)"
                + (actualByteCount < expectedByteCount ? " (truncated file?)" : "")
        }
    }
}
