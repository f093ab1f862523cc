import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The JSON header of a safetensors file, validated against the data section it describes.
///
/// The header maps each tensor name to `{"dtype": …, "shape": […], "data_offsets": [begin, end]}`,
/// offsets counted from the start of the data section, plus an optional `"__metadata__"` object of
/// strings. Validation follows the reference implementation with two deliberate differences: equal
/// names are rejected rather than silently collapsed, and gaps between tensors or bytes after the
/// last one are tolerated (overlaps are not).
struct SafetensorsHeader {
    /// The key under which the header stores free-form metadata instead of a tensor.
    static let metadataKey = "__metadata__"

    /// One tensor's description.
    struct Entry: Equatable {
        var name: String
        var dtype: SafetensorsDType
        var shape: [Int]
        /// Byte offsets within the data section.
        var dataRange: Range<Int>
    }

    /// The tensor entries, ordered by their position in the data section (header order for ties).
    var entries: [Entry]
    var metadata: [String: String]

    // MARK: - Reading

    /// Parses and validates the header `json` for a data section of `dataByteCount` bytes.
    /// - Throws: ``SafetensorsError`` for the first problem found, tensors checked in header
    ///   order.
    init(json: [UInt8], dataByteCount: Int) throws {
        let parsed: JSON
        do { parsed = try JSON.parse(json) } catch let error as JSON.ParseError {
            throw SafetensorsError(.invalidJSON(message: error.message, offset: error.offset))
        }
        guard case let .object(members) = parsed else {
            throw SafetensorsError(.invalidJSON(message: "the header is not a JSON object", offset: 0))
        }
        var seen = Set<String>()
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw SafetensorsError(.duplicateName(name)) }
            if name == Self.metadataKey {
                metadata = try Self.metadata(from: value)
            } else {
                entries.append(try Self.entry(named: name, from: value, dataByteCount: dataByteCount))
            }
        }
        // Sorting is stable, so equal offsets (zero-size tensors) keep header order.
        entries.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound) }
        try Self.checkNoOverlap(entries)
        self.entries = entries
        self.metadata = metadata
    }

    private static func metadata(from value: JSON) throws -> [String: String] {
        guard case let .object(members) = value else {
            throw SafetensorsError(.invalidMetadata(message: "expected an object of strings, found \(value.summary)"))
        }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard case let .string(string) = value else {
                throw SafetensorsError(.invalidMetadata(message: "value of '\(key)' should be a string, found \(value.summary)"))
            }
            guard metadata.updateValue(string, forKey: key) == nil else {
                throw SafetensorsError(.invalidMetadata(message: "key '\(key)' appears more than once"))
            }
        }
        return metadata
    }

    private static func entry(named name: String, from value: JSON, dataByteCount: Int) throws -> Entry {
        guard case let .object(members) = value else {
            throw SafetensorsError(.invalidEntry(tensor: name, found: value.summary))
        }
        func field(_ key: String) throws -> JSON {
            let matches = members.filter { $0.key == key }
            guard let match = matches.first else { throw SafetensorsError(.missingField(tensor: name, field: key)) }
            guard matches.count == 1 else {
                throw SafetensorsError(.invalidField(tensor: name, field: key, expected: "one value", found: "\(matches.count) values"))
            }
            return match.value
        }

        // 1. Each field has the right JSON type.
        let dtypeValue = try field("dtype")
        let shapeValue = try field("shape")
        let offsetsValue = try field("data_offsets")
        guard case let .string(dtypeName) = dtypeValue else {
            throw SafetensorsError(.invalidField(tensor: name, field: "dtype", expected: "a string", found: dtypeValue.summary))
        }
        let extents: [JSON]? = if case let .array(extents) = shapeValue { extents } else { nil }
        let shape = extents?.compactMap(\.intValue) ?? []
        guard let extents, shape.count == extents.count else {
            throw SafetensorsError(.invalidField(tensor: name, field: "shape", expected: "an array of integers", found: shapeValue.summary))
        }
        guard case let .array(offsets) = offsetsValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= 0
        else {
            throw SafetensorsError(.invalidField(tensor: name, field: "data_offsets", expected: "[begin, end] of non-negative integers",
                                      found: offsetsValue.summary))
        }

        // 2. The values make sense on their own.
        guard shape.allSatisfy({ $0 >= 0 }) else { throw SafetensorsError(.negativeExtent(tensor: name, shape: shape)) }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError(.unsupportedDType(tensor: name, dtype: dtypeName))
        }
        guard let byteCount = Self.byteCount(of: shape, dtype: dtype) else {
            throw SafetensorsError(.invalidField(tensor: name, field: "shape", expected: "a shape whose byte size fits in Int",
                                      found: shapeValue.summary))
        }

        // 3. The byte range lies inside the data section and matches the shape.
        guard begin <= end, end <= dataByteCount else {
            throw SafetensorsError(.offsetsOutOfRange(tensor: name, begin: begin, end: end, dataByteCount: dataByteCount))
        }
        guard end - begin == byteCount else {
            throw SafetensorsError(.sizeMismatch(tensor: name, dtype: dtypeName, shape: shape,
                                      expectedByteCount: byteCount, actualByteCount: end - begin))
        }
        return Entry(name: name, dtype: dtype, shape: shape, dataRange: begin ..< end)
    }

    /// The number of bytes a tensor of `shape` and `dtype` occupies, or `nil` on overflow.
    static func byteCount(of shape: [Int], dtype: SafetensorsDType) -> Int? {
        var count = dtype.byteSize
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Throws if two non-empty byte ranges of `entries` (sorted by offset) overlap.
    private static func checkNoOverlap(_ entries: [Entry]) throws {
        var furthest: Entry?  // the entry reaching furthest so far
        for entry in entries where !entry.dataRange.isEmpty {
            if let previous = furthest, entry.dataRange.lowerBound < previous.dataRange.upperBound {
                throw SafetensorsError(.overlappingData(tensor: entry.name, range: entry.dataRange,
                                                              other: previous.name, otherRange: previous.dataRange))
            }
            if entry.dataRange.upperBound > furthest?.dataRange.upperBound ?? 0 { furthest = entry }
        }
    }

    // MARK: - Writing

    /// Creates the header for float32 tensors of `shapes` laid out back to back in `names` order.
    init(names: [String], shapes: [String: [Int]], dtypes: [String: SafetensorsDType] = [:], metadata: [String: String]) {
        var offset = 0
        entries = names.map { name in
            let shape = shapes[name]!
            let dtype = dtypes[name] ?? .float32
            let byteCount = shape.elementCount * dtype.byteSize
            defer { offset += byteCount }
            return Entry(name: name, dtype: dtype, shape: shape, dataRange: offset ..< offset + byteCount)
        }
        self.metadata = metadata
    }

    /// The header as the reference writer lays it out: compact JSON with `__metadata__` first (if any,
    /// keys sorted), then the tensors in data order, padded with spaces to a multiple of 8 bytes so
    /// that the data section starts 8-byte aligned.
    func serialized() -> [UInt8] {
        var members: [(key: String, value: JSON)] = []
        if !metadata.isEmpty {
            let sortedMetadata = Safetensors.sortedNames(metadata.keys).map { (key: $0, value: JSON.string(metadata[$0]!)) }
            members.append((Self.metadataKey, .object(sortedMetadata)))
        }
        for entry in entries {
            members.append((entry.name, .object([
                ("dtype", .string(entry.dtype.rawValue)),
                ("shape", .array(entry.shape.map { .number(String($0)) })),
                ("data_offsets", .array([.number(String(entry.dataRange.lowerBound)),
                                         .number(String(entry.dataRange.upperBound))])),
            ])))
        }
        var bytes = Array(JSON.serialize(.object(members)).utf8)
        bytes += repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8)
        return bytes
    }
}
