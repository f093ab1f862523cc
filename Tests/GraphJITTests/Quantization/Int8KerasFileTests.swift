import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// `.keras` files of int8 models: the ones Keras 3.15.1 saved after `model.quantize("int8")`
/// (`Fixtures/Quantized/<case>.keras`, by make_quantization_fixtures.py) read into GraphJIT's int8
/// layers, and GraphJIT's int8 models written in Keras's layout. That Keras loads GraphJIT's
/// files and predicts identically is checked by `make_quantization_fixtures.py --roundtrip`.
@Suite("int8: Keras's quantized .keras files")
struct Int8KerasFileTests {
    /// The cases whose file Keras itself loads back (the attention case's it cannot: its custom
    /// layer's config does not record that quantize() quantized its Dense sublayers).
    static let loadable = ["cnn", "lstm", "multitask", "two_input_concat", "crossmodal"]
    static let engines: [Engine] = [.reference, .jit(tier: .instant), .jit(tier: .optimized)]

    static func file(_ name: String) throws -> URL {
        try KerasFixture.directory.appending(path: "Quantized/\(name).keras")
    }

    static func keras(_ name: String) throws -> SafetensorsFile {
        try Safetensors.read(contentsOf: KerasFixture.directory.appending(path: "Quantized/\(name).safetensors"))
    }

    @Test("Keras's int8 file predicts Keras's int8 outputs within 1e-6", arguments: loadable, engines)
    func predicts(_ name: String, _ engine: Engine) throws {
        let model = try Model.load(contentsOf: try Self.file(name))
        let keras = try Self.keras(name)
        let outputs = try model.predict(try KerasFixture.load(name).inputs, engine: engine)
        for (index, output) in outputs.enumerated() {
            let difference = Difference(output, try #require(keras["output.\(index)"])).maxAbsolute
            #expect(difference <= 1e-6, "\(name) output \(index): \(difference)")
        }
    }

    @Test("its int8 kernels and scales are Keras's, and quantized() of the float model gives the same model",
          arguments: loadable)
    func weights(_ name: String) throws {
        let loaded = try Model.load(contentsOf: try Self.file(name))
        let keras = try Self.keras(name)
        let scales = keras.names.filter { $0.hasSuffix(".kernel_scale") }
        #expect(Set(loaded.parameters.names.filter { $0.hasSuffix(".kernel_scale") }) == Set(scales))
        for scale in scales {
            let layer = String(scale.dropLast(".kernel_scale".count))
            #expect(loaded.parameters[scale] == keras[scale], "\(scale)")
            #expect(loaded.parameters[layer + ".kernel"] == keras[layer + ".kernel_int8"], "\(layer).kernel")
        }
        let float = KerasFixture.makeModel(name)
        try float.setParameters(try KerasFixture.load(name).weights.tensors)
        let quantized = try float.quantized(.int8)
        for name in quantized.parameters.names {
            #expect(quantized.parameters[name] == loaded.parameters[name], "\(name)")
        }
        #expect(try loaded.weightBytes() == quantized.weightBytes())
    }

    @Test("the attention case's file is refused, naming the layer and why Keras cannot load it either")
    func quantizedSublayers() throws {
        let error = try #require(throws: ModelFileError.self) { try Model.load(contentsOf: try Self.file("attention")) }
        #expect(error.location == "layer 'attention_layer'")
        #expect(error.reason.contains("quantize()"), "\(error)")
    }

    @Test("an int8 model written by GraphJIT reads back identically: config, weights, outputs, summary")
    func roundTrip() throws {
        let model = try TutorialModel.multitask.make(seed: 4).quantized(.int8)
        let again = try Model.load(data: try model.kerasData(), fileName: "multitask-int8.keras")
        #expect(again.parameters.names.sorted() == model.parameters.names.sorted())
        for name in model.parameters.names { #expect(again.parameters[name] == model.parameters[name], "\(name)") }
        // The loaded model's optimizer is built (as Keras builds it on load): slots for the biases
        // only, the int8 kernels and scales are not trained; the rest of the summary is the same.
        let lines = try again.summary().split(separator: "\n")
        #expect(lines.last == " Optimizer params: \(2 + 2 * (128 + 10 + 5)) (1.13 KB)")
        #expect(lines.filter { !$0.contains("Total params") && !$0.contains("Optimizer params") }
                == (try model.summary()).split(separator: "\n").filter { !$0.contains("Total params") })
        var generator = SeededGenerator(seed: 9)
        let x = generator.normalTensor(shape: [5, 64])
        #expect(try again.predict([x]) == model.predict([x]))
        let entries = try KerasArchive(reading: try model.kerasData(), source: "m.keras").entries
        let config = String(decoding: entries[KerasArchive.configName]!, as: UTF8.self)
        #expect(config.contains("\"class_name\":\"QuantizedDTypePolicy\""))
        #expect(config.contains("Int8QuantizationConfig"))
    }

    @Test("quantizing a quantized model is refused, as Keras refuses it")
    func twice() throws {
        let model = try Model.load(contentsOf: try Self.file("multitask"))
        #expect(throws: QuantizationError.alreadyQuantized(layer: "dense", mode: .int8)) { try model.quantized(.int8) }
    }

    /// A one-Dense int8 model's `.keras` parts, written by GraphJIT.
    static func int8Parts() throws -> (config: String, weights: Data) {
        let input = Input(shape: [6])
        let model = try Model(inputs: [input], outputs: [Dense(units: 3)(input)], seed: 3).quantized(.int8)
        let archive = try KerasArchive(reading: try KerasFileWriter(model: model, source: "m.keras").write(), source: "m.keras")
        return (String(decoding: archive.entries[KerasArchive.configName]!, as: UTF8.self),
                archive.entries[KerasArchive.weightsName]!)
    }

    @Test("quantization GraphJIT does not compute exactly is refused, naming the layer and the option",
          arguments: [
              ("\"mode\":\"int8\"", "\"mode\":\"int4\"", "dtype"),
              ("\"source_name\":\"float32\"", "\"source_name\":\"bfloat16\"", "dtype"),
              ("\"weight_quantizer\":null", "\"weight_quantizer\":{\"class_name\":\"GPTQ\",\"config\":{}}",
               "quantization_config"),
              ("\"value_range\":[-127,127]", "\"value_range\":[-100,100]", "quantization_config"),
              ("\"QuantizedDTypePolicy\"", "\"DTypePolicy\"", "quantization_config"),
          ])
    func unsupported(_ replacement: (String, String, String)) throws {
        let (config, weights) = try Self.int8Parts()
        #expect(config.contains(replacement.0), "the writer's config changed: \(config)")
        let data = try HostileKerasFileTests.keras(config: config.replacingOccurrences(of: replacement.0, with: replacement.1),
                                                   weights: weights)
        let error = try HostileKerasFileTests.error(data)
        #expect(error.kind == .unsupported)
        #expect(error.location == "layer 'dense' (Dense)", "\(error)")
        #expect(error.reason.contains("'\(replacement.2)'"), "\(error)")
    }

    @Test("a quantized dtype policy on a layer Keras does not quantize is refused, naming the layer")
    func quantizedFlatten() throws {
        let input = Input(shape: [2, 3])
        let model = Model(inputs: [input], outputs: [Dense(units: 3)(Flatten()(input))], seed: 3)
        let archive = try KerasArchive(reading: try KerasFileWriter(model: model, source: "m.keras").write(), source: "m.keras")
        let config = String(decoding: archive.entries[KerasArchive.configName]!, as: UTF8.self)
        let float = JSON.serialize(KerasFileWriter.dtypePolicy)
        let flatten = try #require(config.range(of: "\"class_name\":\"Flatten\""))
        let policy = try #require(config.range(of: float, range: flatten.upperBound ..< config.endIndex))
        let data = try HostileKerasFileTests.keras(
            config: config.replacingCharacters(in: policy, with: JSON.serialize(KerasQuantization.dtypePolicy(.int8))),
            weights: archive.entries[KerasArchive.weightsName]!)
        let error = try HostileKerasFileTests.error(data)
        #expect(error.kind == .unsupported)
        #expect(error.location == "layer 'flatten' (Flatten)", "\(error)")
    }

    @Test("an int8 kernel holding values other than integers in [-127, 127] is refused, naming the dataset")
    func nonIntegerKernel() throws {
        let (config, _) = try Self.int8Parts()
        let file = try HDF5File.create(source: "w.h5")
        let vars = try file.root.makeGroup("layers").makeGroup("dense").makeGroup("vars")
        try vars.write([Float](repeating: 0.5, count: 18), shape: [6, 3], as: "0")
        try vars.write([0, 0, 0], shape: [3], as: "1")
        try vars.write([1, 1, 1], shape: [3], as: "2")
        let error = try HostileKerasFileTests.error(try HostileKerasFileTests.keras(config: config, weights: try file.image()))
        #expect(error.kind == .weights)
        #expect(error.reason.contains("/layers/dense/vars/0") && error.reason.contains("integers in [-127, 127]"), "\(error)")
    }
}
