import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The header of a NumPy `.npy` file: the magic string, the format version, and the Python dictionary
/// literal that describes the array.
///
/// Layout: `\x93NUMPY`, major and minor version bytes, the dictionary's length (little-endian
/// `UInt16` in version 1.0, `UInt32` in 2.0 and 3.0), then the dictionary text (Latin-1 in 1.0 and
/// 2.0, UTF-8 in 3.0), padded with spaces and a final newline so that the data starts 64-byte aligned.
struct NPYHeader: Equatable {
    /// The six bytes every `.npy` file starts with.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// NumPy pads the header so the data starts at a multiple of this many bytes.
    static let dataAlignment = 64
    /// NumPy leaves room after the dictionary for the first extent to grow to this many digits, so
    /// that appending along that axis can rewrite the header in place (`GROWTH_AXIS_MAX_DIGITS`).
    static let growthAxisMaxDigits = 21

    /// The dtype: the `descr` string as written (`'<f4'` for little-endian float32), or the Python
    /// `repr` of a non-string `descr` (structured dtypes).
    var descr: String
    var isFortranOrder: Bool
    var shape: [Int]

    // MARK: - Reading

    /// Parses the preamble and header at the start of `bytes`.
    /// - Returns: the header and the offset of the array data within `bytes`.
    /// - Throws: ``NPYError`` for a bad magic string, an unsupported version, a truncated or malformed
    ///   header.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> (header: NPYHeader, dataOffset: Int) {
        guard bytes.count >= magic.count, bytes.prefix(magic.count).elementsEqual(magic) else {
            throw NPYError(.badMagic(found: Array(bytes.prefix(magic.count))))
        }
        guard bytes.count >= 8 else { throw NPYError(.truncatedHeader(expectedByteCount: 8, actualByteCount: bytes.count)) }
        let (major, minor) = (Int(bytes[6]), Int(bytes[7]))
        let lengthSize: Int
        switch (major, minor) {
        case (1, 0): lengthSize = 2
        case (2, 0), (3, 0): lengthSize = 4
        default: throw NPYError(.unsupportedVersion(major: major, minor: minor))
        }
        let headerStart = 8 + lengthSize
        guard bytes.count >= headerStart else {
            throw NPYError(.truncatedHeader(expectedByteCount: headerStart, actualByteCount: bytes.count))
        }
        let headerLength = lengthSize == 2
            ? Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            : Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let dataOffset = headerStart + headerLength
        guard bytes.count >= dataOffset else {
            throw NPYError(.truncatedHeader(expectedByteCount: dataOffset, actualByteCount: bytes.count))
        }

        let headerBytes = bytes[headerStart ..< dataOffset]
        let text: String
        if major == 3 {
            // Decoding repairs invalid UTF-8, so a repaired string differs from the bytes.
            text = String(decoding: headerBytes, as: UTF8.self)
            guard text.utf8.elementsEqual(headerBytes) else {
                throw NPYError(.malformedHeader(message: "version 3.0 header is not valid UTF-8", header: text))
            }
        } else {
            // Latin-1: each byte is the Unicode scalar of the same value.
            text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        }
        return (try NPYHeader(dictionary: text), dataOffset)
    }

    /// Interprets the header dictionary text, as NumPy's `_read_array_header` does.
    init(dictionary text: String) throws {
        func malformed(_ message: String) -> NPYError {
            NPYError(.malformedHeader(message: message, header: String(text.reversed().drop(while: \.isWhitespace).reversed())))
        }
        let literal: PythonLiteral
        do {
            literal = try PythonLiteral.parse(text)
        } catch {
            throw malformed("\(error.message) at character \(error.offset)")
        }
        guard case let .dict(entries) = literal else { throw malformed("expected a dictionary, found \(literal.repr)") }

        // 1. Exactly the keys 'descr', 'fortran_order' and 'shape', once each.
        let expectedKeys = ["descr", "fortran_order", "shape"]
        var values: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard case let .string(name) = key, expectedKeys.contains(name) else {
                throw malformed("unexpected key \(key.repr) (expected 'descr', 'fortran_order' and 'shape')")
            }
            guard values.updateValue(value, forKey: name) == nil else { throw malformed("key '\(name)' appears twice") }
        }
        if let missing = expectedKeys.first(where: { values[$0] == nil }) { throw malformed("missing key '\(missing)'") }

        // 2. Each value has the right type.
        let extents: [PythonLiteral]? = if case let .tuple(extents) = values["shape"]! { extents } else { nil }
        let shape: [Int] = extents?.compactMap { extent in
            if case let .integer(value) = extent, value >= 0 { value } else { nil }
        } ?? []
        guard let extents, shape.count == extents.count else {
            throw malformed("'shape' should be a tuple of non-negative integers, found \(values["shape"]!.repr)")
        }
        var elementCount = 1
        for extent in shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw malformed("shape \(values["shape"]!.repr) has more elements than Int can count") }
            elementCount = product
        }
        guard case let .bool(isFortranOrder) = values["fortran_order"]! else {
            throw malformed("'fortran_order' should be True or False, found \(values["fortran_order"]!.repr)")
        }
        let descr: String = switch values["descr"]! {
        case let .string(string): string
        case let other: other.repr
        }
        self.init(descr: descr, isFortranOrder: isFortranOrder, shape: shape)
    }

    init(descr: String, isFortranOrder: Bool, shape: [Int]) {
        self.descr = descr
        self.isFortranOrder = isFortranOrder
        self.shape = shape
    }

    // MARK: - Writing

    /// The dictionary text as NumPy's `repr`-based writer produces it, keys sorted, before padding.
    var dictionary: String {
        let shapeRepr = PythonLiteral.tuple(shape.map { .integer($0) }).repr
        let descrRepr = PythonLiteral.string(descr).repr
        var text = "{'descr': \(descrRepr), 'fortran_order': \(isFortranOrder ? "True" : "False"), 'shape': \(shapeRepr), }"
        if let growingExtent = isFortranOrder ? shape.last : shape.first {
            text += String(repeating: " ", count: max(0, Self.growthAxisMaxDigits - String(growingExtent).count))
        }
        return text
    }

    /// The preamble and header as `numpy.save` writes them: version 1.0 unless the header needs more
    /// than 65535 bytes (then 2.0), padded with spaces and a newline to a multiple of 64 bytes.
    func encoded() -> [UInt8] {
        let dictionaryBytes = Array(dictionary.utf8)  // ASCII, so also Latin-1
        var (major, lengthSize) = (1, 2)
        var padding = Self.padding(dictionaryLength: dictionaryBytes.count, lengthSize: lengthSize)
        if dictionaryBytes.count + padding + 1 > Int(UInt16.max) {
            (major, lengthSize) = (2, 4)
            padding = Self.padding(dictionaryLength: dictionaryBytes.count, lengthSize: lengthSize)
        }
        let headerLength = dictionaryBytes.count + padding + 1

        var bytes = Self.magic + [UInt8(major), 0]
        if lengthSize == 2 {
            withUnsafeBytes(of: UInt16(headerLength).littleEndian) { bytes += $0 }
        } else {
            withUnsafeBytes(of: UInt32(headerLength).littleEndian) { bytes += $0 }
        }
        bytes += dictionaryBytes
        bytes += repeatElement(UInt8(ascii: " "), count: padding)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// The spaces NumPy inserts before the final newline; like NumPy, 64 rather than 0 when the header
    /// would already end aligned.
    private static func padding(dictionaryLength: Int, lengthSize: Int) -> Int {
        dataAlignment - (magic.count + 2 + lengthSize + dictionaryLength + 1) % dataAlignment
    }
}
