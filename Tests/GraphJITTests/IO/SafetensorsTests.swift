import Foundation
import GraphJIT
import Testing

/// Round trips, byte-for-byte compatibility with the reference (Python/Rust) implementation, dtype
/// conversion, and every malformed-file error of ``Safetensors``.
@Suite("Safetensors")
struct SafetensorsTests {
    // MARK: - Round trips

    @Test("encode then decode returns the same tensor", arguments: [
        [], [0], [1], [7], [2, 3], [3, 0, 2], [2, 64, 64, 3], [1, 1, 1, 1, 5],
    ] as [[Int]])
    func roundTrip(shape: [Int]) throws {
        let tensor = makeDistinctTensor(shape: shape)
        let file = try Safetensors.decode(try Safetensors.encode(["t": tensor]))
        #expect(file.tensors == ["t": tensor])
        #expect(file.names == ["t"])
        #expect(file.metadata.isEmpty)
    }

    @Test("many tensors and metadata survive a trip through a file")
    func roundTripThroughFile() throws {
        let tensors = [
            "dense.kernel": makeDistinctTensor(shape: [4, 3]),
            "dense.bias": makeDistinctTensor(shape: [3]),
            "conv2d.kernel": makeDistinctTensor(shape: [3, 3, 1, 2]),
            "step": makeDistinctTensor(shape: []),
            "unused": makeDistinctTensor(shape: [0, 8]),
        ]
        let metadata = ["format": "keras", "note": "quotes \" slash / backslash \\ newline \n tab \t é 🙂", "": "empty key"]
        let url = try temporaryFileURL("weights.safetensors")
        defer { removeTemporaryDirectory(of: url) }
        try Safetensors.write(tensors, to: url, metadata: metadata)
        let file = try Safetensors.read(contentsOf: url)
        #expect(file.tensors == tensors)
        #expect(file.metadata == metadata)
        #expect(file.names == ["conv2d.kernel", "dense.bias", "dense.kernel", "step", "unused"])
        #expect(file["dense.bias"] == tensors["dense.bias"])
        #expect(file.orderedTensors.map(\.name) == file.names)
        #expect(file == SafetensorsFile(tensors: tensors, metadata: metadata))
    }

    @Test("a 15.7 MB tensor (the tutorial CNN's dense kernel) survives a trip through a file")
    func largeRoundTrip() throws {
        let shape = [31 * 31 * 32, 128]
        let tensor = Tensor(shape: shape, uncheckedScalars: (0 ..< shape.elementCount).map { Float($0) * 0.25 - 1000 })
        let url = try temporaryFileURL("large.safetensors")
        defer { removeTemporaryDirectory(of: url) }
        try Safetensors.write(["dense.kernel": tensor], to: url)
        #expect(try Safetensors.read(contentsOf: url)["dense.kernel"] == tensor)
    }

    @Test("names that need JSON escaping round-trip")
    func escapedNames() throws {
        let names = ["a\"b", "back\\slash", "new\nline", "control\u{01}", "ünïcødé", "slash/name", ""]
        let tensors = Dictionary(uniqueKeysWithValues: names.map { ($0, makeDistinctTensor(shape: [2])) })
        let file = try Safetensors.decode(try Safetensors.encode(tensors))
        #expect(file.tensors == tensors)
        // Sorted by UTF-8 bytes, as Rust sorts strings.
        #expect(file.names == ["", "a\"b", "back\\slash", "control\u{01}", "new\nline", "slash/name", "ünïcødé"])
    }

    // MARK: - Compatibility with the reference implementation

    /// `safetensors.numpy.save({"b": arange(6).reshape(2, 3), "a": zeros(()), "z": zeros((0, 3))},
    /// metadata={"format": "pt"})`, all float32, as safetensors 0.8.0 writes it.
    static let referenceHeader = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2,3],"data_offsets":[4,28]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[28,28]}}"#
        + "   "
    static let referenceTensors = [
        "a": Tensor(shape: [], uncheckedScalars: [0]),
        "b": Tensor(shape: [2, 3], uncheckedScalars: [0, 1, 2, 3, 4, 5]),
        "z": Tensor(shape: [0, 3], uncheckedScalars: []),
    ]

    static var referenceFile: Data {
        var bytes: [UInt8] = [200, 0, 0, 0, 0, 0, 0, 0] + Array(referenceHeader.utf8)
        for value: Float in [0, 0, 1, 2, 3, 4, 5] { bytes += littleEndianBytes(value.bitPattern) }
        return Data(bytes)
    }

    @Test("encoding matches the reference writer byte for byte")
    func encodeMatchesReference() throws {
        #expect(Self.referenceHeader.utf8.count == 200)
        let encoded = try Safetensors.encode(Self.referenceTensors, metadata: ["format": "pt"])
        #expect(encoded == Self.referenceFile)
    }

    @Test("decoding a file written by the reference implementation")
    func decodeReference() throws {
        let file = try Safetensors.decode(Self.referenceFile)
        #expect(file.tensors == Self.referenceTensors)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.names == ["a", "b", "z"])
    }

    @Test("an empty file is an 8-byte header of {} padded with spaces")
    func emptyFile() throws {
        let encoded = try Safetensors.encode([:])
        #expect(encoded == Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)))
        let file = try Safetensors.decode(encoded)
        #expect(file.tensors.isEmpty && file.names.isEmpty && file.metadata.isEmpty)
    }

    @Test("the data section starts 8-byte aligned", arguments: ["a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"])
    func headerAlignment(name: String) throws {
        let encoded = try Safetensors.encode([name: makeDistinctTensor(shape: [3])])
        let headerLength = Int(encoded[0]) | Int(encoded[1]) << 8
        #expect(headerLength % 8 == 0)
        #expect(encoded.count == 8 + headerLength + 12)
        #expect(encoded[8 + headerLength - 1] != UInt8(ascii: "\n"))
    }

    @Test("pretty-printed headers, extra fields, gaps and escaped names are accepted")
    func lenientHeader() throws {
        let header = """
        {
          "w\\u00e9ight" : { "shape" : [ 2 ], "dtype" : "F32", "data_offsets" : [ 4, 12 ], "extra": {"nested": [null, true]} }
        }
        """
        let data = Self.makeFile(header: header, data: [0, 0, 0, 0] + littleEndianBytes(Float(1.5).bitPattern) + littleEndianBytes(Float(-2).bitPattern))
        let file = try Safetensors.decode(data)
        #expect(file.tensors == ["wéight": Tensor(shape: [2], uncheckedScalars: [1.5, -2])])
    }

    // MARK: - Dtype conversion

    static let specialValues: [Float] = [0, -0.0, 1, -2, 65504, 0x1p-24, 0x1p-14, 0.333251953125, .infinity, -.infinity]

    @Test("F16 converts exactly, including subnormals, infinities and NaN")
    func float16() throws {
        let bits: [UInt16] = [0x0000, 0x8000, 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x3555, 0x7C00, 0xFC00, 0x03FF, 0x7E00]
        let tensor = try Self.decodeSingle(dtype: "F16", shape: [12], data: bits.flatMap { littleEndianBytes($0) })
        #expect(Array(tensor.scalars.prefix(10)) == Self.specialValues)
        #expect(tensor.scalars[0].sign == .plus && tensor.scalars[1].sign == .minus)
        #expect(tensor.scalars[10] == 1023 * 0x1p-24)
        #expect(tensor.scalars[11].isNaN)
    }

    @Test("BF16 converts exactly")
    func bfloat16() throws {
        let bits: [UInt16] = [0x0000, 0x8000, 0x3F80, 0xC000, 0x4780, 0x3380, 0x3880, 0x3EAB, 0x7F80, 0xFF80, 0x7FC0]
        let tensor = try Self.decodeSingle(dtype: "BF16", shape: [11], data: bits.flatMap { littleEndianBytes($0) })
        #expect(Array(tensor.scalars.prefix(10)) == [0, -0.0, 1, -2, 65536, 0x1p-24, 0x1p-14, 0.333984375, .infinity, -.infinity])
        #expect(tensor.scalars[10].isNaN)
    }

    @Test("F64 rounds to the nearest Float")
    func float64() throws {
        let values: [Double] = [0.1, -1e300, 1e-50, 3, .pi]
        let tensor = try Self.decodeSingle(dtype: "F64", shape: [5, 1], data: values.flatMap { littleEndianBytes($0.bitPattern) })
        #expect(tensor.shape == [5, 1])
        #expect(tensor.scalars == [0.1, -.infinity, 0, 3, Float(Double.pi)])  // not Float.pi, which rounds down
    }

    @Test("mixed dtypes in one file are all converted")
    func mixedDTypes() throws {
        let header = #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"f":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"h":{"dtype":"F16","shape":[1],"data_offsets":[12,14]}}"#
        let data = littleEndianBytes(Double(2).bitPattern) + littleEndianBytes(Float(3).bitPattern) + littleEndianBytes(UInt16(0x4400))
        let file = try Safetensors.decode(Self.makeFile(header: header, data: data))
        #expect(file.tensors == ["d": Tensor(shape: [1], uncheckedScalars: [2]), "f": Tensor(shape: [1], uncheckedScalars: [3]),
                                 "h": Tensor(shape: [1], uncheckedScalars: [4])])
    }

    // MARK: - Malformed files

    /// A malformed file and the error it must produce.
    struct Corruption: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var expected: SafetensorsError.Reason
        var testDescription: String { label }

        init(_ label: String, header: String, data: [UInt8] = [], expected: SafetensorsError.Reason) {
            self.init(label, bytes: [UInt8](SafetensorsTests.makeFile(header: header, data: data)), expected: expected)
        }

        init(_ label: String, bytes: [UInt8], expected: SafetensorsError.Reason) {
            self.label = label
            self.bytes = bytes
            self.expected = expected
        }
    }

    static let corruptions: [Corruption] = [
        Corruption("empty file", bytes: [], expected: .fileTooShort(byteCount: 0)),
        Corruption("shorter than 8 bytes", bytes: [2, 0, 0], expected: .fileTooShort(byteCount: 3)),
        Corruption("header length beyond the file", bytes: [0xE8, 0x03, 0, 0, 0, 0, 0, 0] + Array("{}".utf8),
                   expected: .headerLengthBeyondFile(headerLength: 1000, bytesAvailable: 2)),
        Corruption("huge header length", bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D],
                   expected: .headerLengthBeyondFile(headerLength: .max, bytesAvailable: 2)),
        Corruption("header is an array", header: "[1, 2]",
                   expected: .invalidJSON(message: "the header is not a JSON object", offset: 0)),
        // The parser reaches the end after skipping the padding spaces.
        Corruption("unterminated header", header: #"{"a":"#, expected: .invalidJSON(message: "unexpected end of the text", offset: 8)),
        Corruption("trailing garbage", header: "{} x", expected: .invalidJSON(message: "unexpected text after the value", offset: 3)),
        Corruption("duplicate names",
                   header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                   data: [0, 0, 0, 0], expected: .duplicateName("a")),
        Corruption("entry not an object", header: #"{"a":[1]}"#, expected: .invalidEntry(tensor: "a", found: "[1]")),
        Corruption("missing dtype", header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0],
                   expected: .missingField(tensor: "a", field: "dtype")),
        Corruption("missing shape", header: #"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0],
                   expected: .missingField(tensor: "a", field: "shape")),
        Corruption("missing data_offsets", header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0],
                   expected: .missingField(tensor: "a", field: "data_offsets")),
        Corruption("dtype not a string", header: #"{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0],
                   expected: .invalidField(tensor: "a", field: "dtype", expected: "a string", found: "32")),
        Corruption("fractional extent", header: #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0],
                   expected: .invalidField(tensor: "a", field: "shape", expected: "an array of integers", found: "[1.5]")),
        Corruption("one data offset", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#, data: [0, 0, 0, 0],
                   expected: .invalidField(tensor: "a", field: "data_offsets", expected: "[begin, end] of non-negative integers",
                                           found: "[4]")),
        Corruption("negative extent", header: #"{"a":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]}}"#,
                   data: Array(repeating: 0, count: 24), expected: .negativeExtent(tensor: "a", shape: [2, -3])),
        Corruption("byte size beyond Int", header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                   data: [0, 0, 0, 0],
                   expected: .invalidField(tensor: "a", field: "shape", expected: "a shape whose byte size fits in Int",
                                           found: "[4294967296,4294967296]")),
        Corruption("offset beyond Int", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#,
                   data: [0, 0, 0, 0],
                   expected: .invalidField(tensor: "a", field: "data_offsets", expected: "[begin, end] of non-negative integers",
                                           found: "[0,99999999999999999999]")),
        Corruption("integer dtype", header: #"{"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#,
                   data: Array(repeating: 0, count: 8), expected: .unsupportedDType(tensor: "step", dtype: "I64")),
        Corruption("truncated data", bytes: Array(referenceFile.dropLast(5)),
                   expected: .offsetsOutOfRange(tensor: "b", begin: 4, end: 28, dataByteCount: 23)),
        Corruption("begin after end", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#,
                   data: Array(repeating: 0, count: 8), expected: .offsetsOutOfRange(tensor: "a", begin: 8, end: 4, dataByteCount: 8)),
        Corruption("range smaller than the shape", header: #"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#,
                   data: Array(repeating: 0, count: 24),
                   expected: .sizeMismatch(tensor: "a", dtype: "F32", shape: [2, 3], expectedByteCount: 24, actualByteCount: 20)),
        Corruption("range sized for another dtype", header: #"{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,12]}}"#,
                   data: Array(repeating: 0, count: 12),
                   expected: .sizeMismatch(tensor: "a", dtype: "F16", shape: [3], expectedByteCount: 6, actualByteCount: 12)),
        Corruption("overlapping ranges",
                   header: #"{"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#,
                   data: Array(repeating: 0, count: 20),
                   expected: .overlappingData(tensor: "b", range: 8 ..< 20, other: "a", otherRange: 0 ..< 12)),
        Corruption("metadata value not a string", header: #"{"__metadata__":{"epochs":10}}"#,
                   expected: .invalidMetadata(message: "value of 'epochs' should be a string, found 10")),
    ]

    @Test("malformed files produce the right error", arguments: corruptions)
    func corruption(_ corruption: Corruption) throws {
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.decode(Data(corruption.bytes)) }
        #expect(error?.reason == corruption.expected)
        #expect(error?.file == nil)
    }

    @Test("non-JSON headers are reported as invalid JSON", arguments: [
        "", "not json", #"{"a":tru}"#, #"{"a":"\q"}"#, #"{"a":01}"#, #"{"a":"\ud800"}"#, "{\"a\":\"\u{01}\"}",
        String(repeating: "[", count: 100),
    ])
    func invalidJSON(header: String) throws {
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.decode(Self.makeFile(header: header)) }
        guard case .invalidJSON = error?.reason else {
            Issue.record("expected invalidJSON, got \(String(describing: error))")
            return
        }
    }

    @Test("a header that is not UTF-8 is invalid JSON")
    func invalidUTF8() throws {
        var bytes = [UInt8](Self.makeFile(header: #"{"ab":1}   "#))
        bytes[10] = 0xFF  // inside the key
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.decode(Data(bytes)) }
        #expect(error?.reason == .invalidJSON(message: "string is not valid UTF-8", offset: 1))
    }

    @Test("a tensor named __metadata__ cannot be written")
    func reservedName() throws {
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.encode(["__metadata__": makeDistinctTensor(shape: [1])]) }
        #expect(error?.reason == .reservedName("__metadata__"))
    }

    @Test("errors from read(contentsOf:) name the file and the tensor")
    func errorNamesFile() throws {
        let url = try temporaryFileURL("truncated.safetensors")
        defer { removeTemporaryDirectory(of: url) }
        try Data(Self.referenceFile.dropLast(5)).write(to: url)
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.read(contentsOf: url) }
        #expect(error?.file == url)
        let description = error?.description ?? ""
        #expect(description.hasPrefix(url.path + ": "))
        #expect(description.contains("tensor 'b'") && description.contains("[4, 28]") && description.contains("23-byte"))
    }

    @Test("error descriptions say what was expected and what was found")
    func errorDescriptions() {
        let mismatch = SafetensorsError(.sizeMismatch(tensor: "dense.kernel", dtype: "F32", shape: [5, 6],
                                                      expectedByteCount: 120, actualByteCount: 100))
        #expect(mismatch.description == "tensor 'dense.kernel': F32 shape [5, 6] needs 120 bytes, but data_offsets span 100")
        let short = SafetensorsError(.fileTooShort(byteCount: 3), file: URL(fileURLWithPath: "/tmp/w.safetensors"))
        #expect(short.description == "/tmp/w.safetensors: expected at least 8 bytes (the header length), found 3")
    }

    @Test("reading a missing file throws Foundation's error")
    func missingFile() throws {
        let url = try temporaryFileURL("missing.safetensors")
        defer { removeTemporaryDirectory(of: url) }
        #expect(throws: (any Error).self) { try Safetensors.read(contentsOf: url) }
    }
}

// MARK: - Helpers

extension SafetensorsTests {
    /// A safetensors file with the header text `header` (padded with spaces to 8 bytes) and `data`.
    static func makeFile(header: String, data: [UInt8] = []) -> Data {
        var headerBytes = Array(header.utf8)
        headerBytes += repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8)
        return Data(littleEndianBytes(UInt64(headerBytes.count)) + headerBytes + data)
    }

    /// Decodes a file holding one tensor `x` of the given dtype, shape and data.
    static func decodeSingle(dtype: String, shape: [Int], data: [UInt8]) throws -> Tensor {
        let header = #"{"x":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":[0,\#(data.count)]}}"#
        return try #require(try Safetensors.decode(makeFile(header: header, data: data))["x"])
    }
}
