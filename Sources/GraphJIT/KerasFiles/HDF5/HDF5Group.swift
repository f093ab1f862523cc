import CGraphJITFiles
import Foundation
import GraphJITIR

/// A group of an ``HDF5File``: its links, datasets and attributes, read and written by name.
///
/// Names are single link names (no `/`); ``group(atPath:)`` walks a path one link at a time, so
/// that every step is checked. The caller holds no lock: each method takes ``HDF5Library``'s.
final class HDF5Group {
    /// What a link in a group leads to.
    enum ChildKind: Equatable {
        case missing, group, dataset, other
        /// A soft or external link (never followed).
        case link
    }

    let file: HDF5File
    /// The group's path in the file (`""` for the root, `/layers/dense`).
    let path: String
    private let id: Int64
    private let ownsID: Bool

    /// The most links GraphJIT lists in one group (a Keras model has one per layer or weight).
    static let maximumChildren = 1 << 20

    init(file: HDF5File, path: String, id: Int64, ownsID: Bool) {
        self.file = file
        self.path = path
        self.id = id
        self.ownsID = ownsID
    }

    deinit {
        if ownsID { _ = try? HDF5Library.withLock { gj_h5_close_group(id) } }
    }

    func childPath(_ name: String) -> String { path + "/" + name }

    // MARK: Links

    /// How many links the group holds.
    func childCount() throws -> Int {
        try HDF5Library.withLock {
            let count = gj_h5_child_count(id)
            guard count >= 0 else { throw file.error(at: path, "cannot list the group") }
            return Int(count)
        }
    }

    /// The names of the group's links, in name order.
    func childNames() throws -> [String] {
        try HDF5Library.withLock {
            let count = gj_h5_child_count(id)
            guard count >= 0 else { throw file.error(at: path, "cannot list the group") }
            guard count <= Self.maximumChildren else {
                throw file.error(at: path, "the group has \(count) links, more than the \(Self.maximumChildren) allowed")
            }
            return try (0 ..< UInt64(count)).map { index in
                let length = gj_h5_child_name(id, index, nil, 0)
                guard length >= 0, length < 1 << 16 else { throw file.error(at: path, "cannot read link \(index)'s name") }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                guard gj_h5_child_name(id, index, &buffer, buffer.count) == length else {
                    throw file.error(at: path, "cannot read link \(index)'s name")
                }
                return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// What the link `name` leads to.
    func kind(of name: String) throws -> ChildKind {
        let kind = try HDF5Library.withLock { gj_h5_child_kind(id, name) }
        switch Int(kind) {
        case GJ_H5_MISSING: return .missing
        case GJ_H5_GROUP: return .group
        case GJ_H5_DATASET: return .dataset
        case GJ_H5_LINK: return .link
        case GJ_H5_OTHER: return .other
        default: throw file.error(at: childPath(name), "cannot read the link (not a valid link name, or a corrupt file)")
        }
    }

    /// The subgroup `name`, or `nil` if there is no such link.
    func groupIfPresent(_ name: String) throws -> HDF5Group? {
        switch try kind(of: name) {
        case .missing: return nil
        case .group:
            let child = try HDF5Library.withLock { gj_h5_open_group(id, name) }
            guard child >= 0 else { throw file.error(at: childPath(name), "cannot open the group") }
            return HDF5Group(file: file, path: childPath(name), id: child, ownsID: true)
        case let other:
            throw file.error(at: childPath(name), "expected a group, found \(Self.describe(other))")
        }
    }

    /// The subgroup `name`.
    func group(_ name: String) throws -> HDF5Group {
        guard let group = try groupIfPresent(name) else { throw file.error(at: childPath(name), "missing group") }
        return group
    }

    /// The group at `components` below this one, each step checked.
    func group(atPath components: [String]) throws -> HDF5Group {
        try components.reduce(self) { try $0.group($1) }
    }

    // MARK: Datasets

    /// The extents of dataset `name` (empty for a scalar).
    func datasetShape(_ name: String) throws -> [Int] {
        try withDataset(name) { dataset, location in try Self.shape(of: dataset, at: location, in: file) }
    }

    /// Reads dataset `name`, which must be numeric with exactly the extents `shape` (a scalar for
    /// `[]`), converted to float32. The shape is checked before anything is allocated.
    func readFloats(_ name: String, shape: [Int]) throws -> [Float] {
        try withDataset(name) { dataset, location in
            try checkNumeric(dataset, at: location)
            let actual = try Self.shape(of: dataset, at: location, in: file)
            guard actual == shape else {
                throw ModelFileError(.weights, file: file.source, location: location,
                                     reason: "has shape \(actual), expected \(shape)")
            }
            var scalars = [Float](repeating: 0, count: shape.elementCount)
            guard scalars.withUnsafeMutableBufferPointer({ gj_h5_read_float32(dataset, $0.baseAddress) }) >= 0 else {
                throw file.error(at: location, "cannot read the data (truncated or corrupt)")
            }
            return scalars
        }
    }

    /// Reads the scalar (or one-element) integer dataset `name`.
    func readInteger(_ name: String) throws -> Int64 {
        try withDataset(name) { dataset, location in
            try checkNumeric(dataset, at: location)
            let shape = try Self.shape(of: dataset, at: location, in: file)
            guard shape.allSatisfy({ $0 == 1 }) else {  // (a product of the file's extents could overflow)
                throw ModelFileError(.weights, file: file.source, location: location,
                                     reason: "has shape \(shape), expected a scalar")
            }
            var value: Int64 = 0
            guard gj_h5_read_int64(dataset, &value) >= 0 else {
                throw file.error(at: location, "cannot read the data (truncated or corrupt)")
            }
            return value
        }
    }

    /// Writes a float32 dataset `name` holding `scalars` with extents `shape`.
    func write(_ scalars: [Float], shape: [Int], as name: String) throws {
        precondition(scalars.count == shape.elementCount, "the writer passes matching shapes")
        let extents = shape.map(UInt64.init)
        let status = try HDF5Library.withLock {
            scalars.withUnsafeBufferPointer { gj_h5_write_float32(id, name, Int32(shape.count), extents, $0.baseAddress) }
        }
        guard status >= 0 else { throw file.error(at: childPath(name), "cannot write the dataset") }
    }

    /// Writes an int8 dataset `name` holding `scalars` (integers in [-128, 127], as a quantized
    /// kernel's values are) with extents `shape`.
    func write(int8 scalars: [Float], shape: [Int], as name: String) throws {
        precondition(scalars.count == shape.elementCount, "the writer passes matching shapes")
        let values = scalars.map { Int8(max(-128, min(127, $0.isNaN ? 0 : $0.rounded()))) }
        let extents = shape.map(UInt64.init)
        let status = try HDF5Library.withLock {
            values.withUnsafeBufferPointer { gj_h5_write_int8(id, name, Int32(shape.count), extents, $0.baseAddress) }
        }
        guard status >= 0 else { throw file.error(at: childPath(name), "cannot write the dataset") }
    }

    /// Writes a scalar int64 dataset `name`.
    func write(integer value: Int64, as name: String) throws {
        var value = value
        let status = try HDF5Library.withLock { gj_h5_write_int64(id, name, 0, nil, &value) }
        guard status >= 0 else { throw file.error(at: childPath(name), "cannot write the dataset") }
    }

    /// Creates the subgroup `name`.
    func makeGroup(_ name: String) throws -> HDF5Group {
        let child = try HDF5Library.withLock { gj_h5_create_group(id, name) }
        guard child >= 0 else { throw file.error(at: childPath(name), "cannot create the group") }
        return HDF5Group(file: file, path: childPath(name), id: child, ownsID: true)
    }

    // MARK: Attributes

    /// The string attribute `name` (a scalar gives one element), or `nil` if the group has none.
    func strings(attribute name: String) throws -> [String]? {
        let location = path + "@" + name
        return try HDF5Library.withLock {
            var count: UInt64 = 0
            let length = gj_h5_attribute_strings(id, name, nil, 0, &count)
            if length == GJ_H5_MISSING_ATTRIBUTE { return nil }
            guard length >= 0 else { throw file.error(at: location, "cannot read the attribute as text") }
            guard length <= max(file.imageSize, 1 << 16) else {
                throw file.error(at: location, "the attribute claims \(length) bytes, more than the whole file")
            }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            guard gj_h5_attribute_strings(id, name, &buffer, buffer.count, &count) == length else {
                throw file.error(at: location, "cannot read the attribute as text")
            }
            let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
            let elements = bytes.split(separator: 0, omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
            return count == 0 ? [] : elements
        }
    }

    /// Writes the scalar UTF-8 string attribute `name`.
    func setAttribute(_ name: String, to value: String) throws {
        let status = try HDF5Library.withLock { gj_h5_write_string_attribute(id, name, value) }
        guard status >= 0 else { throw file.error(at: path + "@" + name, "cannot write the attribute") }
    }

    // MARK: Helpers

    private func withDataset<T>(_ name: String, _ body: (Int64, String) throws -> T) throws -> T {
        let location = childPath(name)
        let found = try kind(of: name)
        guard found == .dataset else {
            throw ModelFileError(found == .missing ? .weights : .hdf5, file: file.source, location: location,
                                 reason: found == .missing ? "missing dataset" : "expected a dataset, found \(Self.describe(found))")
        }
        return try HDF5Library.withLock {
            let dataset = gj_h5_open_dataset(id, name)
            guard dataset >= 0 else {
                throw file.error(at: location, "cannot open the dataset (its data is stored outside the file, or it is corrupt)")
            }
            defer { gj_h5_close_dataset(dataset) }
            return try body(dataset, location)
        }
    }

    /// Caller holds the library lock.
    private func checkNumeric(_ dataset: Int64, at location: String) throws {
        var elementClass: Int32 = 0
        var size = 0
        guard gj_h5_dataset_type(dataset, &elementClass, &size) >= 0 else {
            throw file.error(at: location, "cannot read the element type")
        }
        guard elementClass == Int32(GJ_H5_CLASS_FLOAT) || elementClass == Int32(GJ_H5_CLASS_INTEGER) else {
            throw ModelFileError(.weights, file: file.source, location: location,
                                 reason: "holds non-numeric elements (expected float32)")
        }
    }

    /// Caller holds the library lock.
    private static func shape(of dataset: Int64, at location: String, in file: HDF5File) throws -> [Int] {
        var extents = [UInt64](repeating: 0, count: Int(GJ_H5_MAX_RANK))
        let rank = gj_h5_dataset_shape(dataset, &extents, Int32(extents.count))
        guard rank >= 0 else { throw file.error(at: location, "cannot read the dataset's shape") }
        return try extents.prefix(Int(rank)).map { extent in
            guard extent <= UInt64(Int.max) else { throw file.error(at: location, "an extent does not fit in Int") }
            return Int(extent)
        }
    }

    private static func describe(_ kind: ChildKind) -> String {
        switch kind {
        case .missing: "nothing"
        case .group: "a group"
        case .dataset: "a dataset"
        case .other: "an object of another kind"
        case .link: "a soft or external link (not followed)"
        }
    }
}
