import CGraphJITFiles
import Foundation
import GraphJITIR

/// An HDF5 file held in memory, read or written with libhdf5 (Debian's `libhdf5-dev`).
///
/// Files are opened from a byte image (a `.keras` zip entry, a legacy `.h5` file's bytes) and
/// created in memory; ``image()`` copies a created file out. Nothing is read from or written to the
/// file system through HDF5: links to other files and raw data stored outside the file are refused
/// by the C layer. Every error is a ``ModelFileError`` naming ``source`` and the HDF5 path.
final class HDF5File {
    /// The user's name for the file (`model.keras`, `model.keras/model.weights.h5`).
    let source: String
    let id: Int64
    /// The image's size in bytes (0 for a file being written): an upper bound on what it can hold.
    let imageSize: Int

    private init(source: String, id: Int64, imageSize: Int) {
        self.source = source
        self.id = id
        self.imageSize = imageSize
    }

    deinit { _ = try? HDF5Library.withLock { gj_h5_close_file(id) } }

    /// Opens the HDF5 file whose bytes are `image`.
    static func open(_ image: Data, source: String) throws -> HDF5File {
        guard image.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw ModelFileError(.hdf5, file: source, reason: "not an HDF5 file (no HDF5 signature at its start)")
        }
        let id = try HDF5Library.withLock(source: source) {
            image.withUnsafeBytes { gj_h5_open_image($0.baseAddress, $0.count) }
        }
        guard id >= 0 else {
            throw ModelFileError(.hdf5, file: source, reason: "the HDF5 library cannot open it (truncated or corrupt)")
        }
        return HDF5File(source: source, id: id, imageSize: image.count)
    }

    /// A new, empty file in memory.
    static func create(source: String) throws -> HDF5File {
        let id = try HDF5Library.withLock(source: source) { gj_h5_create_image() }
        guard id >= 0 else { throw ModelFileError(.hdf5, file: source, reason: "cannot create an HDF5 file in memory") }
        return HDF5File(source: source, id: id, imageSize: 0)
    }

    /// The root group.
    var root: HDF5Group { HDF5Group(file: self, path: "", id: id, ownsID: false) }

    /// The file's bytes, as written so far.
    func image() throws -> Data {
        try HDF5Library.withLock {
            let size = gj_h5_file_image(id, nil, 0)
            guard size > 0 else { throw error(at: "/", "cannot flush the file to an image") }
            var data = Data(count: Int(size))
            let copied = data.withUnsafeMutableBytes { gj_h5_file_image(id, $0.baseAddress, $0.count) }
            guard copied == size else { throw error(at: "/", "cannot copy the file's image") }
            return data
        }
    }

    func error(at path: String, _ reason: String) -> ModelFileError {
        ModelFileError(.hdf5, file: source, location: path.isEmpty ? "/" : path, reason: reason)
    }
}
