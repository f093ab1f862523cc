import Foundation
import GraphJIT

// Helpers shared by the file-format tests (NPY, safetensors).

/// A tensor of `shape` holding distinct, exactly representable values.
func makeDistinctTensor(shape: [Int]) -> Tensor {
    Tensor(shape: shape, uncheckedScalars: (0 ..< shape.elementCount).map { Float($0 % 1000) * 0.5 - Float($0 / 1000) })
}

/// The little-endian bytes of an integer.
func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// A fresh path `name` in a new temporary directory (see ``makeTemporaryDirectory()``).
func temporaryFileURL(_ name: String) throws -> URL {
    try makeTemporaryDirectory().appendingPathComponent(name)
}

/// Deletes the directory ``temporaryFileURL(_:)`` made for `url`.
func removeTemporaryDirectory(of url: URL) {
    try? FileManager.default.removeItem(at: url.deletingLastPathComponent())
}
