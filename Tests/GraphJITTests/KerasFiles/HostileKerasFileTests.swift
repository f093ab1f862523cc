import Foundation
import Testing
import ZIPFoundation
@testable import GraphJIT
@testable import GraphJITIR

/// Hostile `.keras` and `.h5` files: each a thrown ``ModelFileError`` naming the file, the layer
/// or entry, and what is wrong; never a crash, a trap or an allocation the file's size does not bound.
@Suite("Keras files: hostile files")
struct HostileKerasFileTests {
    /// A small functional model's `.keras` parts, written by GraphJIT.
    static func validParts() throws -> (config: String, weights: Data) {
        let input = Input(shape: [6])
        let hidden = Dense(units: 4, activation: .relu)(input)
        let model = Model(inputs: [input], outputs: [Dense(units: 3, activation: .softmax)(hidden)], seed: 3)
        let archive = try KerasArchive(reading: try KerasFileWriter(model: model, source: "m.keras").write(), source: "m.keras")
        return (String(decoding: archive.entries[KerasArchive.configName]!, as: UTF8.self),
                archive.entries[KerasArchive.weightsName]!)
    }

    static func keras(config: String, weights: Data, extra: [(String, Data)] = []) throws -> Data {
        try KerasArchive.write([(KerasArchive.configName, Data(config.utf8)), (KerasArchive.weightsName, weights)] + extra,
                               source: "t.keras")
    }

    static func load(_ data: Data, file: String = "hostile.keras") throws -> Model {
        try KerasFileReader(source: file, compile: true).read(data)
    }

    /// Loads `data` and returns the error, which must name `file`.
    static func error(_ data: Data, file: String = "hostile.keras") throws -> ModelFileError {
        let error = try #require(throws: ModelFileError.self) { try load(data, file: file) }
        #expect(error.description.hasPrefix(file), "\(error)")
        return error
    }

    @Test("the valid parts load (the baseline every mutation below departs from)")
    func baseline() throws {
        let (config, weights) = try Self.validParts()
        let model = try Self.load(try Self.keras(config: config, weights: weights))
        #expect(try model.layerNames() == ["dense", "dense_1"])
    }

    @Test("entry names that climb out, are absolute, or carry backslashes are refused, naming the entry",
          arguments: ["../evil.txt", "/etc/passwd", "assets/../../x", "C:\\\\x", "a\\\\..\\\\b"])
    func pathTraversal(_ name: String) throws {
        let (config, weights) = try Self.validParts()
        let error = try Self.error(try Self.keras(config: config, weights: weights, extra: [(name, Data("x".utf8))]))
        #expect(error.kind == .container)
        #expect(error.location == name)
        #expect(error.reason.contains("unsafe entry name"))
    }

    @Test("a zip bomb (a deflated entry 1000+ times its size) is refused before inflating")
    func zipBomb() throws {
        let (_, weights) = try Self.validParts()
        let archive = try Archive(accessMode: .create)
        let zeros = Data(count: 64 << 20)
        try archive.addEntry(with: KerasArchive.configName, type: .file, uncompressedSize: Int64(zeros.count),
                             compressionMethod: .deflate) { position, size in zeros.subdata(in: Int(position) ..< Int(position) + size) }
        try archive.addEntry(with: KerasArchive.weightsName, type: .file, uncompressedSize: Int64(weights.count),
                             compressionMethod: .none) { position, size in weights.subdata(in: Int(position) ..< Int(position) + size) }
        let data = try #require(archive.data)
        #expect(data.count < 1 << 20)
        let error = try Self.error(data)
        #expect(error.location == KerasArchive.configName)
        #expect(error.reason.contains("zip bomb"))
    }

    @Test("a .keras file re-zipped with deflate (as zip tools may) loads the same model")
    func deflated() throws {
        let (config, weights) = try Self.validParts()
        let archive = try Archive(accessMode: .create)
        for (name, data) in [(KerasArchive.configName, Data(config.utf8)), (KerasArchive.weightsName, weights)] {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) {
                position, size in data.subdata(in: Int(position) ..< Int(position) + size)
            }
        }
        let stored = try Self.load(try Self.keras(config: config, weights: weights))
        let deflated = try Self.load(try #require(archive.data))
        #expect(deflated.parameters == stored.parameters)
    }

    @Test("the archive that trapped ZIPFoundation's reader (found by FuzzKerasFile) is an error")
    func zipFoundationTrap() throws {
        let url = KerasFileFixtureTests.directory.appending(path: "Hostile/zipfoundation-trap.keras")
        let error = try Self.error(try Data(contentsOf: url))
        #expect(error.kind == .container)
    }

    @Test("encrypted entries, zip64 markers and split archives are refused, saying which")
    func unsupportedZipFeatures() throws {
        let (config, weights) = try Self.validParts()
        let whole = try Self.keras(config: config, weights: weights)
        // The central directory's first entry: set its "encrypted" flag.
        var encrypted = whole
        let directory = try #require(encrypted.firstRange(of: Data([0x50, 0x4B, 0x01, 0x02])))
        encrypted[directory.lowerBound + 8] |= 1
        #expect(try Self.error(encrypted).reason.contains("encrypted"))
        // The end record's entry count set to 0xFFFF, as a zip64 archive has it.
        var zip64 = whole
        let end = try #require(zip64.lastRange(of: Data([0x50, 0x4B, 0x05, 0x06])))
        zip64[end.lowerBound + 10] = 0xFF
        zip64[end.lowerBound + 11] = 0xFF
        #expect(try Self.error(zip64).reason.contains("zip64"))
        var split = whole
        split[end.lowerBound + 4] = 1
        #expect(try Self.error(split).reason.contains("several disks"))
    }

    @Test("an entry that inflates past the size it declares is stopped there")
    func lyingSize() throws {
        let (config, weights) = try Self.validParts()
        let archive = try Archive(accessMode: .create)
        let text = Data((config + String(repeating: " ", count: 4000)).utf8)
        try archive.addEntry(with: KerasArchive.configName, type: .file, uncompressedSize: Int64(text.count),
                             compressionMethod: .deflate) { position, size in text.subdata(in: Int(position) ..< Int(position) + size) }
        try archive.addEntry(with: KerasArchive.weightsName, type: .file, uncompressedSize: Int64(weights.count)) { position, size in
            weights.subdata(in: Int(position) ..< Int(position) + size)
        }
        var data = try #require(archive.data)
        // Rewrite the declared uncompressed size (local header offset 22, central directory offset 24) to 100.
        let size = withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init)
        let small = withUnsafeBytes(of: UInt32(100).littleEndian, Array.init)
        var index = data.startIndex
        while let range = data[index...].firstRange(of: Data(size)) {
            data.replaceSubrange(range, with: small)
            index = range.upperBound
        }
        let error = try Self.error(data)
        #expect(error.kind == .container)
    }

    @Test("a zip cut short anywhere, an empty file and a file that is neither zip nor HDF5 are errors")
    func truncatedZip() throws {
        let (config, weights) = try Self.validParts()
        let whole = try Self.keras(config: config, weights: weights)
        for cut in stride(from: 1, to: whole.count, by: max(1, whole.count / 23)) {
            _ = try Self.error(whole.prefix(cut))
        }
        #expect(try Self.error(Data()).kind == .container)
        #expect(try Self.error(Data("hello, world".utf8)).reason.contains("neither a .keras zip"))
    }

    @Test("a truncated or corrupt model.weights.h5 is an error naming it")
    func badWeights() throws {
        let (config, weights) = try Self.validParts()
        let truncated = try Self.error(try Self.keras(config: config, weights: weights.prefix(weights.count / 2)))
        #expect(truncated.file == "hostile.keras/model.weights.h5")
        var corrupt = weights
        for index in stride(from: 96, to: corrupt.count, by: 5) { corrupt[index] ^= 0xA5 }
        _ = try Self.error(try Self.keras(config: config, weights: corrupt))
        _ = try Self.error(try Self.keras(config: config, weights: Data("garbage".utf8)))
    }

    @Test("a weight whose shape disagrees with the layer names the layer, the weight and both shapes")
    func misshapenWeight() throws {
        let (config, weights) = try Self.validParts()
        let wider = config.replacingOccurrences(of: "\"units\":4", with: "\"units\":5")
        #expect(wider != config)
        let error = try Self.error(try Self.keras(config: wider, weights: weights))
        #expect(error.kind == .weights)
        #expect(error.description.contains("layer 'dense' kernel"), "\(error)")
        #expect(error.description.contains("has shape [6, 4], expected [6, 5]"), "\(error)")
    }

    @Test("absurd dimensions are refused before any allocation", arguments: [
        ("\"units\":4", "\"units\":4000000000000"), ("\"batch_shape\":[null,6]", "\"batch_shape\":[null,99999999999]"),
        ("\"batch_shape\":[null,6]", "\"batch_shape\":[null,0]"), ("\"units\":4", "\"units\":-4"),
    ])
    func absurdDimensions(_ replacement: (String, String)) throws {
        let (config, weights) = try Self.validParts()
        let absurd = config.replacingOccurrences(of: replacement.0, with: replacement.1)
        #expect(absurd != config)
        _ = try Self.error(try Self.keras(config: absurd, weights: weights))
    }

    @Test("an unknown layer class names the layer and the class")
    func unknownClass() throws {
        let (config, weights) = try Self.validParts()
        let error = try Self.error(try Self.keras(config: config.replacingOccurrences(of: "\"class_name\":\"Dense\"",
                                                                                      with: "\"class_name\":\"Conv3DTranspose\""),
                                                  weights: weights))
        #expect(error.kind == .unsupported)
        #expect(error.description.contains("layer 'dense': unknown layer class 'Conv3DTranspose'"), "\(error)")
    }

    @Test("an unsupported option names the layer and the option", arguments: [
        ("\"use_bias\":true", "\"use_bias\":true,\"kernel_regularizer\":{\"class_name\":\"L2\",\"config\":{\"l2\":0.01}}",
         "option 'kernel_regularizer'"),
        ("\"activation\":\"relu\"", "\"activation\":\"hard_shrink\"", "option 'activation'"),
        ("\"name\":\"dense\",\"trainable\":true,\"dtype\":{\"module\":\"keras\",\"class_name\":\"DTypePolicy\",\"config\":{\"name\":\"float32\"}",
         "\"name\":\"dense\",\"trainable\":true,\"dtype\":{\"module\":\"keras\",\"class_name\":\"DTypePolicy\",\"config\":{\"name\":\"mixed_bfloat16\"}",
         "dtype policy 'mixed_bfloat16'"),
    ])
    func unsupportedOption(_ replacement: (String, String, String)) throws {
        let (config, weights) = try Self.validParts()
        let changed = config.replacingOccurrences(of: replacement.0, with: replacement.1)
        #expect(changed != config)
        let error = try Self.error(try Self.keras(config: changed, weights: weights))
        #expect(error.kind == .unsupported)
        #expect(error.description.contains("layer 'dense'"), "\(error)")
        #expect(error.description.contains(replacement.2), "\(error)")
    }

    @Test("cyclic and dangling inbound nodes name the layer and the connection")
    func cyclicAndDangling() throws {
        let (config, weights) = try Self.validParts()
        // dense reads dense_1's output, which reads dense's: a cycle.
        let cyclic = config.replacingOccurrences(of: "\"keras_history\":[\"input_layer\",0,0]",
                                                 with: "\"keras_history\":[\"dense_1\",0,0]")
        let cycle = try Self.error(try Self.keras(config: cyclic, weights: weights))
        #expect(cycle.kind == .config)
        #expect(cycle.description.contains("layer 'dense' (Dense)"), "\(cycle)")
        #expect(cycle.reason.contains("cyclic"), "\(cycle)")
        let dangling = config.replacingOccurrences(of: "\"keras_history\":[\"input_layer\",0,0]",
                                                   with: "\"keras_history\":[\"ghost\",0,0]")
        let ghost = try Self.error(try Self.keras(config: dangling, weights: weights))
        #expect(ghost.reason.contains("['ghost', 0, 0] names a layer that is not in the config"), "\(ghost)")
        let missingNode = config.replacingOccurrences(of: "\"keras_history\":[\"input_layer\",0,0]",
                                                      with: "\"keras_history\":[\"input_layer\",7,0]")
        #expect(try Self.error(try Self.keras(config: missingNode, weights: weights)).reason.contains("never made"))
    }

    @Test("config.json that is not JSON, nests 10,000 deep, or lacks its parts is an error naming the entry")
    func badConfig() throws {
        let (_, weights) = try Self.validParts()
        let broken = try Self.error(try Self.keras(config: "{\"class_name\": ", weights: weights))
        #expect(broken.location == "config.json")
        _ = try Self.error(try Self.keras(config: String(repeating: "[", count: 10_000), weights: weights))
        _ = try Self.error(try Self.keras(config: "{\"class_name\":\"Functional\",\"config\":{}}", weights: weights))
        _ = try Self.error(try Self.keras(config: "{\"class_name\":\"MyModel\",\"config\":{}}", weights: weights))
        let noWeights = try KerasArchive.write([(KerasArchive.configName, Data("{}".utf8))], source: "t")
        #expect(try Self.error(noWeights).location == KerasArchive.weightsName)
    }

    @Test("HDF5 soft links, external links and external raw data are refused, naming the dataset",
          arguments: [("soft_link.keras", "soft or external link"), ("external_link.keras", "soft or external link"),
                      ("external_storage.keras", "stored outside the file")])
    func linksAndExternalData(_ file: String, _ expected: String) throws {
        let url = KerasFileFixtureTests.directory.appending(path: "Hostile/\(file)")
        let error = try Self.error(try Data(contentsOf: url), file: file)
        #expect(error.description.contains("/layers/dense/vars/0"), "\(error)")
        #expect(error.reason.contains(expected), "\(error)")
    }

    @Test("a functional config listing 3,000 layers in reverse order loads in linear time and saves")
    func reversedDeepChain() throws {
        let count = 3000
        func tensor(_ layer: String) -> String {
            #"{"class_name":"__keras_tensor__","config":{"shape":[null,4],"dtype":"float32","keras_history":["\#(layer)",0,0]}}"#
        }
        var layers = [#"{"class_name":"InputLayer","name":"input_layer","config":{"batch_shape":[null,4],"name":"input_layer"},"inbound_nodes":[]}"#]
        for index in (0 ..< count).reversed() {
            let input = index == 0 ? "input_layer" : "activation_\(index - 1)"
            layers.append(#"{"class_name":"Activation","name":"activation_\#(index)","config":{"name":"activation_\#(index)","activation":"relu"},"inbound_nodes":[{"args":[\#(tensor(input))],"kwargs":{}}]}"#)
        }
        let config = #"{"class_name":"Functional","config":{"name":"deep","layers":["# + layers.joined(separator: ",")
            + #"],"input_layers":["input_layer",0,0],"output_layers":["activation_\#(count - 1)",0,0]}}"#
        let weights = try HDF5File.create(source: "w.h5")
        _ = try weights.root.makeGroup("layers")
        let started = ContinuousClock.now
        let model = try Self.load(try Self.keras(config: config, weights: try weights.image()))
        #expect(try model.summaryRows().count == count + 1)
        let again = try Model.load(data: try model.kerasData())
        #expect(try again.summaryRows().map(\.layer) == model.summaryRows().map(\.layer))
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test("a weights-only .h5 and a .safetensors given as a model say what they are")
    func wrongKinds() throws {
        let file = try HDF5File.create(source: "w.h5")
        _ = try file.root.makeGroup("dense")
        let error = try Self.error(try file.image(), file: "weights.h5")
        #expect(error.reason.contains("weights-only"))
    }
}
