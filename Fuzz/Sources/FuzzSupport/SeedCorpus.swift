import Foundation
import GraphJIT

/// The seed corpora under `Fuzz/Corpus/<Fuzzer>/`: valid files written by the library itself, plus
/// a few hand-made bad ones. Regenerate with `GRAPHJIT_FUZZ_WRITE_SEEDS=<dir> <fuzzer binary>`
/// (`.ci/fuzz.sh --write-seeds` does it for every fuzzer).
public enum SeedCorpus {
    public static func write(fuzzer: String, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let seeds: [(String, [UInt8])] = switch fuzzer {
        case "FuzzNPY": try npy()
        case "FuzzSafetensors": try safetensors()
        case "FuzzModelSpec": try modelSpecSeeds()
        case "FuzzKerasFile": try KerasFileFuzzer.seeds()
        default: throw CocoaError(.featureUnsupported)
        }
        for (name, bytes) in seeds {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
        }
        FileHandle.standardError.write(Data("wrote \(seeds.count) seeds for \(fuzzer) to \(directory.path)\n".utf8))
    }

    // MARK: - NPY

    static func npy() throws -> [(String, [UInt8])] {
        let tensors: [(String, Tensor)] = [
            ("scalar", try Tensor(shape: [], scalars: [1.5])),
            ("empty", try Tensor(shape: [0], scalars: [])),
            ("empty-0x5", try Tensor(shape: [0, 5], scalars: [])),
            ("specials", try Tensor(shape: [6], scalars: [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude])),
            ("2x3", try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])),
            ("1x2x3x4", try Tensor(shape: [1, 2, 3, 4], scalars: (0..<24).map(Float.init))),
        ]
        var seeds = tensors.map { ("valid-\($0.0).npy", [UInt8](NPY.encode($0.1))) }
        for (name, tensor) in [tensors[4]] {
            seeds.append(("valid-\(name)-v2.npy", header(major: 2, dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")
                + floats(tensor.scalars)))
        }
        let bad: [(String, [UInt8])] = [
            ("bad-v3-utf8.npy", header(major: 3, dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'ü': 1}") + floats([1])),
            ("bad-f8.npy", header(major: 1, dictionary: "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }") + [UInt8](repeating: 0, count: 8)),
            ("bad-fortran.npy", header(major: 1, dictionary: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }") + floats([1, 2])),
            ("bad-long.npy", header(major: 1, dictionary: "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 1_0)}") + floats([1])),
            ("bad-negative.npy", header(major: 1, dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }")),
            ("bad-overflow.npy", header(major: 1, dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4, 0), }")),
            ("bad-huge-zero.npy", header(major: 1, dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807, 9223372036854775807), }")),
            ("bad-structured.npy", header(major: 1, dictionary: "{'descr': [('a', '<f4'), ('b', ('<i2', (2,)))], 'fortran_order': False, 'shape': (), }")),
            ("bad-nested.npy", header(major: 1, dictionary: "{'descr': '<f4', 'fortran_order': False, 'shape': ((((1,),),),), 'x': {None: [True]}}")),
            ("bad-escapes.npy", header(major: 1, dictionary: "{'descr': '<\\f\\'4\\\\', 'fortran_order': False, 'shape': (), }")),
            ("bad-truncated.npy", Array([UInt8](NPY.encode(tensors[4].1)).dropLast(5))),
            ("bad-magic.npy", Array("\u{93}NUMPX".utf8) + [1, 0, 0, 0]),
            ("bad-length.npy", [0x93] + Array("NUMPY".utf8) + [2, 0, 0xFF, 0xFF, 0xFF, 0xFF]),
        ]
        return seeds + bad
    }

    /// The preamble and `dictionary`, padded as NumPy pads it.
    static func header(major: UInt8, dictionary: String) -> [UInt8] {
        let text = Array(dictionary.utf8)
        let lengthSize = major == 1 ? 2 : 4
        let padding = 63 - (8 + lengthSize + text.count) % 64
        let length = text.count + padding + 1
        var bytes = [0x93] + Array("NUMPY".utf8) + [major, 0]
        for index in 0..<lengthSize { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * index))) }
        return bytes + text + [UInt8](repeating: 0x20, count: padding) + [0x0A]
    }

    static func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
    }

    // MARK: - Safetensors

    static func safetensors() throws -> [(String, [UInt8])] {
        let valid: [(String, [String: Tensor], [String: String])] = [
            ("empty", [:], [:]),
            ("one", ["w": try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])], [:]),
            ("several", [
                "dense.kernel": try Tensor(shape: [3, 2], scalars: [0.5, -1, 2, .nan, .infinity, -0.0]),
                "dense.bias": try Tensor(shape: [2], scalars: [0, 1]),
                "scalar": try Tensor(shape: [], scalars: [7]),
                "zero": try Tensor(shape: [0, 4], scalars: []),
            ], ["format": "graphjit", "model": "sequential"]),
        ]
        var seeds = try valid.map { ("valid-\($0.0).safetensors", [UInt8](try Safetensors.encode($0.1, metadata: $0.2))) }
        func file(_ json: String, data: [UInt8]) -> [UInt8] {
            let header = Array(json.utf8)
            return (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + data
        }
        seeds += [
            ("mixed-dtypes.safetensors", file(#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#,
                                              data: [0x00, 0x3C, 0x01, 0x7C, 0x80, 0x3F, 0xC0, 0xFF] + (0..<8).map { UInt8(truncatingIfNeeded: (1.0 / 3.0).bitPattern >> (8 * $0)) })),
            ("gap-and-escapes.safetensors", file(#"{"__metadata__":{"k\u00e9y":"v\ud83d\ude00\n"},"a\/b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                                 data: [UInt8](repeating: 0, count: 12))),
            ("bad-duplicate.safetensors", file(#"{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("bad-overlap.safetensors", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("bad-dtype.safetensors", file(#"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, data: [1])),
            ("bad-overflow.safetensors", file(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4,0],"data_offsets":[0,0]}}"#, data: [])),
            ("bad-huge-zero.safetensors", file(#"{"a":{"dtype":"F16","shape":[0,9223372036854775807,9223372036854775807],"data_offsets":[0,0]}}"#, data: [])),
            ("bad-negative.safetensors", file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("bad-offsets.safetensors", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775807,4]}}"#, data: [0, 0, 0, 0])),
            ("bad-numbers.safetensors", file(#"{"a":{"dtype":"F32","shape":[1.0e0],"data_offsets":[0,-0]},"b":[true,false,null,-1.5E+3]}"#, data: [])),
            ("bad-nesting.safetensors", file(String(repeating: "[", count: 70) + String(repeating: "]", count: 70), data: [])),
            ("bad-metadata.safetensors", file(#"{"__metadata__":{"a":1,"a":"b"}}"#, data: [])),
            ("bad-length.safetensors", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + Array("{}".utf8)),
            ("bad-short.safetensors", [2, 0, 0]),
        ]
        return seeds
    }

    // MARK: - Model specs

    /// Small models like the tutorial's, each checked to decode back from its bytes.
    public static let specs: [(String, ModelSpec)] = {
        typealias N = ModelSpec.Node
        return [
            ("cnn", ModelSpec(isSequential: true, inputShapes: [[8, 8, 3]], nodes: [
                N(.conv2d(filters: 4, kernelSize: [3, 3], strides: [1, 1], padding: .valid, activation: .relu, useBias: true), inputs: [0]),
                N(.maxPooling2d(poolSize: [2, 2], strides: nil, padding: .valid), inputs: [1]),
                N(.flatten, inputs: [2]),
                N(.dense(units: 10, activation: .softmax, useBias: true), inputs: [3]),
            ], outputs: [4], batchSize: 2, seed: 1)),
            ("cnn-same-strided", ModelSpec(isSequential: true, inputShapes: [[7, 5, 2]], nodes: [
                N(.conv2d(filters: 3, kernelSize: [3, 2], strides: [2, 2], padding: .same, activation: .gelu, useBias: false), inputs: [0]),
                N(.maxPooling2d(poolSize: [2, 2], strides: [1, 1], padding: .same), inputs: [1]),
                N(.dropout(rate: 0.5), inputs: [2]),
                N(.flatten, inputs: [3]),
                N(.dense(units: 4, activation: .silu, useBias: true), inputs: [4]),
            ], outputs: [5], batchSize: 1, seed: 2)),
            ("lstm", ModelSpec(isSequential: true, inputShapes: [[6, 4]], nodes: [
                N(.lstm(units: 5, activation: .tanh, recurrentActivation: .sigmoid, returnSequences: false, useBias: true), inputs: [0]),
                N(.dense(units: 3, activation: .softmax, useBias: true), inputs: [1]),
            ], outputs: [2], batchSize: 3, seed: 3)),
            ("lstm-sequences", ModelSpec(isSequential: true, inputShapes: [[5, 3]], nodes: [
                N(.lstm(units: 4, activation: .relu, recurrentActivation: .sigmoid, returnSequences: true, useBias: false), inputs: [0]),
                N(.dense(units: 2, activation: .tanh, useBias: true), inputs: [1]),
                N(.softmax(axis: 1), inputs: [2]),
            ], outputs: [3], batchSize: 2, seed: 4)),
            ("attention", ModelSpec(isSequential: true, inputShapes: [[5, 4]], nodes: [
                N(.attention(units: 3), inputs: [0]),
                N(.dense(units: 2, activation: .softmax, useBias: true), inputs: [1]),
            ], outputs: [2], batchSize: 1, seed: 5)),
            ("multitask", ModelSpec(isSequential: false, inputShapes: [[6]], nodes: [
                N(.dense(units: 8, activation: .relu, useBias: true), inputs: [0]),
                N(.dense(units: 3, activation: .softmax, useBias: true), inputs: [1]),
                N(.dense(units: 2, activation: .softmax, useBias: true), inputs: [1], name: "x"),
            ], outputs: [2, 3], batchSize: 4, seed: 6)),
            ("two-input-concat", ModelSpec(isSequential: false, inputShapes: [[4], [3]], nodes: [
                N(.concatenate(axis: -1), inputs: [0, 1]),
                N(.dense(units: 2, activation: .geluTanh, useBias: true), inputs: [2]),
                N(.activation(.sigmoid), inputs: [3]),
            ], outputs: [4], batchSize: 2, seed: 7)),
            ("shared-dense", ModelSpec(isSequential: false, inputShapes: [[3, 4]], nodes: [
                N(.dense(units: 4, activation: .tanh, useBias: true), inputs: [0]),
                N(.shared(node: 0), inputs: [1]),
                N(.concatenate(axis: 1), inputs: [1, 2, 0]),
                N(.flatten, inputs: [3]),
            ], outputs: [4, 1], batchSize: 1, seed: 8)),
            ("identity", ModelSpec(isSequential: false, inputShapes: [[2, 2]], nodes: [], outputs: [0], batchSize: 2, seed: 9)),
        ]
    }()

    static func modelSpecSeeds() throws -> [(String, [UInt8])] {
        try specs.map { name, spec in
            var bytes = FuzzBytes(spec.encoded)
            let decoded = ModelSpec(decoding: &bytes)
            guard decoded == spec else {
                throw CocoaError(.coderInvalidValue, userInfo: [NSDebugDescriptionErrorKey: "seed \(name) decodes to\n\(decoded)"])
            }
            return ("\(name).spec", spec.encoded)
        }
    }
}
