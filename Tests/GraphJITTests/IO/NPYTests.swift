import Foundation
import GraphJIT
import Testing

/// Round trips, byte-for-byte compatibility with `numpy.save`, header parsing, and every
/// malformed-file error of ``NPY``.
@Suite("NPY")
struct NPYTests {
    // MARK: - Round trips

    @Test("encode then decode returns the same tensor", arguments: [
        [], [0], [1], [7], [2, 3], [3, 0, 2], [2, 64, 64, 3], [1, 1, 1, 1, 5],
    ] as [[Int]])
    func roundTrip(shape: [Int]) throws {
        let tensor = makeDistinctTensor(shape: shape)
        #expect(try NPY.decode(NPY.encode(tensor)) == tensor)
    }

    @Test("a 15.7 MB tensor survives a trip through a file")
    func largeRoundTrip() throws {
        let shape = [31 * 31 * 32, 128]
        let tensor = Tensor(shape: shape, uncheckedScalars: (0 ..< shape.elementCount).map { Float($0) * 0.25 - 1000 })
        let url = try temporaryFileURL("large.npy")
        defer { removeTemporaryDirectory(of: url) }
        try NPY.write(tensor, to: url)
        #expect(try NPY.read(contentsOf: url) == tensor)
    }

    @Test("special float values keep their bit patterns")
    func specialValues() throws {
        let scalars: [Float] = [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan]
        let decoded = try NPY.decode(NPY.encode(Tensor(shape: [7], uncheckedScalars: scalars)))
        #expect(decoded.scalars.map(\.bitPattern) == scalars.map(\.bitPattern))
    }

    // MARK: - Compatibility with numpy.save

    /// The dictionary `numpy.save` writes for a C-order float32 array of each shape; numpy adds 21
    /// minus the digits of the first extent in spaces, then pads to 64 bytes (128 for all of these).
    static let numpyHeaders: [(shape: [Int], dictionary: String)] = [
        ([2, 3], "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + String(repeating: " ", count: 20)),
        ([], "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"),
        ([3], "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" + String(repeating: " ", count: 20)),
        ([2, 64, 64, 3], "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64, 64, 3), }" + String(repeating: " ", count: 20)),
        ([0], "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }" + String(repeating: " ", count: 20)),
        ([30752, 128], "{'descr': '<f4', 'fortran_order': False, 'shape': (30752, 128), }" + String(repeating: " ", count: 16)),
    ]

    @Test("the header matches numpy.save byte for byte", arguments: numpyHeaders.indices)
    func encodeMatchesNumPy(index: Int) throws {
        let (shape, dictionary) = Self.numpyHeaders[index]
        let encoded = [UInt8](NPY.encode(Tensor.zeros(shape)))
        let expected = Self.numpyFile(dictionary: dictionary, data: [])
        #expect(expected.count == 128)
        #expect(Array(encoded.prefix(128)) == expected)
        #expect(encoded.count == 128 + 4 * shape.elementCount)
    }

    @Test("the exact bytes numpy writes for a (2, 3) float32 array")
    func exactNumPyBytes() throws {
        var expected: [UInt8] = [0x93] + Array("NUMPY".utf8) + [0x01, 0x00, 0x76, 0x00]
        expected += Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".utf8)
        expected += Array(repeating: UInt8(ascii: " "), count: 128 - 1 - expected.count) + [UInt8(ascii: "\n")]
        let values: [Float] = [1, -2, 0.5, 3.25, 0, 100]
        for value in values { expected += littleEndianBytes(value.bitPattern) }

        let tensor = Tensor(shape: [2, 3], uncheckedScalars: values)
        #expect([UInt8](NPY.encode(tensor)) == expected)
        #expect(try NPY.decode(Data(expected)) == tensor)
    }

    @Test("format versions 2.0 and 3.0 are read", arguments: [(2, 0), (3, 0)] as [(UInt8, UInt8)])
    func laterVersions(major: UInt8, minor: UInt8) throws {
        // numpy.lib.format.write_array(f, a, version=(2, 0)) for a (2, 3) float32 array: the 12-byte
        // preamble leaves a 116-byte ('t') dictionary.
        let dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + String(repeating: " ", count: 20)
        let file = Self.numpyFile(dictionary: dictionary, version: (major, minor), data: (0 ..< 6).flatMap { littleEndianBytes(Float($0).bitPattern) })
        #expect(Array(file[6 ..< 12]) == [major, minor, 0x74, 0, 0, 0])
        #expect(try NPY.decode(Data(file)) == Tensor(shape: [2, 3], uncheckedScalars: [0, 1, 2, 3, 4, 5]))
    }

    @Test("a version 3.0 header is decoded as UTF-8")
    func utf8Header() throws {
        let file = Self.numpyFile(dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'note': 'é'}",
                                  version: (3, 0), data: littleEndianBytes(Float(1).bitPattern))
        let error = #expect(throws: NPYError.self) { try NPY.decode(Data(file)) }
        #expect(error?.reason == .malformedHeader(message: "unexpected key 'note' (expected 'descr', 'fortran_order' and 'shape')",
                                                   header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'note': 'é'}"))
    }

    @Test("a version 3.0 header that is not UTF-8 is malformed")
    func invalidUTF8Header() throws {
        var file = Self.numpyFile(dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 'é'}",
                                  version: (3, 0), data: littleEndianBytes(Float(1).bitPattern))
        file[12 + 62] = 0xFF  // the first byte of "é"
        let error = #expect(throws: NPYError.self) { try NPY.decode(Data(file)) }
        guard case let .malformedHeader(message, _) = error?.reason else {
            Issue.record("expected malformedHeader, got \(String(describing: error))")
            return
        }
        #expect(message == "version 3.0 header is not valid UTF-8")
    }

    @Test("header dictionaries written by other tools are accepted", arguments: [
        #"{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}"#,
        "{'shape':(2,3),'fortran_order':False,'descr':'<f4'}",
        "{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
    ])
    func lenientHeaders(dictionary: String) throws {
        let file = Data(Self.numpyFile(dictionary: dictionary, data: Array(repeating: 0, count: 24)))
        #expect(try NPY.decode(file) == Tensor.zeros([2, 3]))
    }

    @Test("a header that is not padded to 64 bytes is still read")
    func unalignedHeader() throws {
        let dictionary = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n".utf8)
        let file = [0x93] + Array("NUMPY".utf8) + [1, 0] + littleEndianBytes(UInt16(dictionary.count)) + dictionary
            + littleEndianBytes(Float(7).bitPattern)
        #expect(try NPY.decode(Data(file)) == Tensor(shape: [1], uncheckedScalars: [7]))
    }

    // MARK: - Malformed files

    /// A malformed file and the error it must produce.
    struct Corruption: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var expected: NPYError.Reason
        var testDescription: String { label }

        init(_ label: String, dictionary: String, dataByteCount: Int = 24, expected: NPYError.Reason) {
            self.label = label
            self.bytes = NPYTests.numpyFile(dictionary: dictionary, data: Array(repeating: 0, count: dataByteCount))
            self.expected = expected
        }

        init(_ label: String, bytes: [UInt8], expected: NPYError.Reason) {
            self.label = label
            self.bytes = bytes
            self.expected = expected
        }
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    static func malformed(_ message: String, _ header: String) -> NPYError.Reason {
        .malformedHeader(message: message, header: header)
    }

    static let corruptions: [Corruption] = [
        Corruption("empty file", bytes: [], expected: .badMagic(found: [])),
        Corruption("a zip file", bytes: Array("PK\u{03}\u{04}\u{14}\u{00}\u{00}\u{00}".utf8), expected: .badMagic(found: [0x50, 0x4B, 3, 4, 0x14, 0])),
        Corruption("magic only", bytes: magic, expected: .truncatedHeader(expectedByteCount: 8, actualByteCount: 6)),
        Corruption("version 4.0", bytes: magic + [4, 0, 0, 0], expected: .unsupportedVersion(major: 4, minor: 0)),
        Corruption("version 1.1", bytes: magic + [1, 1, 0, 0], expected: .unsupportedVersion(major: 1, minor: 1)),
        Corruption("no header length", bytes: magic + [2, 0, 0x74], expected: .truncatedHeader(expectedByteCount: 12, actualByteCount: 9)),
        Corruption("header length beyond the file", bytes: magic + [1, 0, 0x76, 0] + Array("{'descr'".utf8),
                   expected: .truncatedHeader(expectedByteCount: 128, actualByteCount: 18)),
        Corruption("not a dictionary", dictionary: "('<f4', False, (2, 3))",
                   expected: malformed("expected a dictionary, found ('<f4', False, (2, 3))", "('<f4', False, (2, 3))")),
        Corruption("garbage", dictionary: "{'descr': <f4}",
                   expected: malformed("unexpected character '<' at character 10", "{'descr': <f4}")),
        Corruption("unterminated string", dictionary: "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}",
                   expected: malformed("expected ',' or '}' at character 17", "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}")),
        Corruption("missing shape", dictionary: "{'descr': '<f4', 'fortran_order': False}",
                   expected: malformed("missing key 'shape'", "{'descr': '<f4', 'fortran_order': False}")),
        Corruption("duplicate key", dictionary: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
                   expected: malformed("key 'descr' appears twice", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}")),
        Corruption("shape as a list", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
                   expected: malformed("'shape' should be a tuple of non-negative integers, found [2, 3]",
                                       "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}")),
        Corruption("shape in parentheses without a comma", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",
                   expected: malformed("'shape' should be a tuple of non-negative integers, found 6",
                                       "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}")),
        Corruption("negative extent", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",
                   expected: malformed("'shape' should be a tuple of non-negative integers, found (2, -3)",
                                       "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}")),
        Corruption("more elements than Int can count", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                   expected: malformed("shape (4294967296, 4294967296) has more elements than Int can count",
                                       "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}")),
        Corruption("extent beyond Int", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                   expected: malformed("integer 99999999999999999999 out of range at character 51",
                                       "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}")),
        Corruption("fortran_order not a bool", dictionary: "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}",
                   expected: malformed("'fortran_order' should be True or False, found 0",
                                       "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}")),
        Corruption("float64", dictionary: "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", expected: .unsupportedDType("<f8")),
        Corruption("big-endian float32", dictionary: "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                   expected: .unsupportedDType(">f4")),
        Corruption("int32", dictionary: "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", expected: .unsupportedDType("<i4")),
        Corruption("float16", dictionary: "{'descr': '<f2', 'fortran_order': False, 'shape': (12,), }", expected: .unsupportedDType("<f2")),
        Corruption("structured dtype", dictionary: "{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (3,), }",
                   expected: .unsupportedDType("[('x', '<f4'), ('y', '<f4')]")),
        Corruption("Fortran order", dictionary: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                   expected: .fortranOrder(shape: [2, 3])),
        Corruption("truncated data", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", dataByteCount: 20,
                   expected: .dataSizeMismatch(shape: [2, 3], expectedByteCount: 24, actualByteCount: 20)),
        Corruption("extra data", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", dataByteCount: 28,
                   expected: .dataSizeMismatch(shape: [2, 3], expectedByteCount: 24, actualByteCount: 28)),
        Corruption("data for an empty array", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", dataByteCount: 4,
                   expected: .dataSizeMismatch(shape: [0, 3], expectedByteCount: 0, actualByteCount: 4)),
        Corruption("no data for a scalar", dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", dataByteCount: 0,
                   expected: .dataSizeMismatch(shape: [], expectedByteCount: 4, actualByteCount: 0)),
    ]

    @Test("malformed files produce the right error", arguments: corruptions)
    func corruption(_ corruption: Corruption) throws {
        let error = #expect(throws: NPYError.self) { try NPY.decode(Data(corruption.bytes)) }
        #expect(error?.reason == corruption.expected)
        #expect(error?.file == nil)
    }

    @Test("errors from read(contentsOf:) name the file and give both byte counts")
    func errorNamesFile() throws {
        let url = try temporaryFileURL("truncated.npy")
        defer { removeTemporaryDirectory(of: url) }
        try Data(NPY.encode(Tensor.zeros([2, 3])).dropLast(4)).write(to: url)
        let error = #expect(throws: NPYError.self) { try NPY.read(contentsOf: url) }
        #expect(error?.file == url)
        #expect(error?.description == url.path + ": float32 shape [2, 3] needs 24 bytes of data, but the file holds 20 (truncated file?)")
    }

    @Test("error descriptions")
    func errorDescriptions() {
        #expect(NPYError(.unsupportedDType("<f8")).description == "unsupported dtype '<f8' (expected '<f4', little-endian float32: save it with np.save(path, x.astype(np.float32)))")
        #expect(NPYError(.badMagic(found: [0x50, 0x4B])).description == "not a .npy file: expected the magic string \\x93NUMPY, found 50 4b")
        #expect(NPYError(.unsupportedVersion(major: 4, minor: 0)).description.contains("4.0"))
        #expect(NPYError(.malformedHeader(message: "missing key 'shape'", header: "{'descr': '<f4', 'fortran_order': False}")).description
            == "malformed header: missing key 'shape', in {'descr': '<f4', 'fortran_order': False}")
    }
}

// MARK: - Helpers

extension NPYTests {
    /// A `.npy` file as numpy lays it out: magic, version, header length, `dictionary` padded with
    /// spaces and a newline so that the data starts 64-byte aligned, then `data`.
    static func numpyFile(dictionary: String, version: (major: UInt8, minor: UInt8) = (1, 0), data: [UInt8]) -> [UInt8] {
        let dictionaryBytes = Array(dictionary.utf8)
        let preambleSize = version.major == 1 ? 10 : 12
        let padding = 64 - (preambleSize + dictionaryBytes.count + 1) % 64
        let headerLength = dictionaryBytes.count + padding + 1
        let lengthBytes = version.major == 1 ? littleEndianBytes(UInt16(headerLength)) : littleEndianBytes(UInt32(headerLength))
        return [0x93] + Array("NUMPY".utf8) + [version.major, version.minor] + lengthBytes + dictionaryBytes
            + Array(repeating: UInt8(ascii: " "), count: padding) + [UInt8(ascii: "\n")] + data
    }
}
