import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// The HDF5 layer over libhdf5: in-memory files written and read back, and every bad input a
/// thrown error naming the file and the path.
@Suite("Keras files: HDF5")
struct HDF5Tests {
    /// A file with `layers/dense/vars/{0,1}`, a scalar int, and string attributes.
    static func sampleImage() throws -> Data {
        let file = try HDF5File.create(source: "sample.h5")
        let vars = try file.root.makeGroup("layers").makeGroup("dense").makeGroup("vars")
        try vars.write([1, 2, 3, 4, 5, 6], shape: [2, 3], as: "0")
        try vars.write([0.5, -0.5, 7], shape: [3], as: "1")
        try file.root.makeGroup("optimizer").write(integer: 42, as: "iterations")
        try file.root.setAttribute("model_config", to: "{\"class_name\": \"Sequential\"} ü")
        return try file.image()
    }

    @Test("groups, datasets and attributes written in memory read back exactly")
    func roundTrip() throws {
        let file = try HDF5File.open(try Self.sampleImage(), source: "sample.h5")
        #expect(try file.root.childNames() == ["layers", "optimizer"])
        let vars = try file.root.group(atPath: ["layers", "dense", "vars"])
        #expect(try vars.childNames() == ["0", "1"])
        #expect(try vars.datasetShape("0") == [2, 3])
        #expect(try vars.readFloats("0", shape: [2, 3]) == [1, 2, 3, 4, 5, 6])
        #expect(try vars.readFloats("1", shape: [3]) == [0.5, -0.5, 7])
        #expect(try file.root.group("optimizer").readInteger("iterations") == 42)
        #expect(try file.root.strings(attribute: "model_config") == ["{\"class_name\": \"Sequential\"} ü"])
        #expect(try file.root.strings(attribute: "absent") == nil)
        #expect(try file.root.kind(of: "nothing") == .missing)
    }

    @Test("a dataset whose shape disagrees is refused before reading, naming the path and both shapes")
    func shapeMismatch() throws {
        let vars = try HDF5File.open(try Self.sampleImage(), source: "sample.h5").root.group(atPath: ["layers", "dense", "vars"])
        let error = try #require(throws: ModelFileError.self) { try vars.readFloats("0", shape: [3, 2]) }
        #expect(error.kind == .weights)
        #expect(error.description.contains("sample.h5: /layers/dense/vars/0: has shape [2, 3], expected [3, 2]"))
    }

    @Test("missing groups and datasets, and a group read as a dataset, are errors naming the path")
    func missing() throws {
        let root = try HDF5File.open(try Self.sampleImage(), source: "sample.h5").root
        #expect(throws: ModelFileError.self) { try root.group("nothing") }
        let error = try #require(throws: ModelFileError.self) { try root.readFloats("layers", shape: [1]) }
        #expect(error.description.contains("/layers: expected a dataset, found a group"))
        #expect(throws: ModelFileError.self) { try root.group(atPath: ["layers", "dense", "vars", "0"]) }
    }

    @Test("bytes that are not HDF5, truncated at every tenth and corrupted in the middle, are errors")
    func truncatedAndCorrupt() throws {
        #expect(throws: ModelFileError.self) { try HDF5File.open(Data("not hdf5".utf8), source: "x.h5") }
        #expect(throws: ModelFileError.self) { try HDF5File.open(Data(), source: "x.h5") }
        let image = try Self.sampleImage()
        for tenth in 1 ..< 10 {
            let truncated = image.prefix(image.count * tenth / 10)
            // Either the open fails or a read does; nothing crashes and nothing reads garbage.
            do {
                let root = try HDF5File.open(Data(truncated), source: "x.h5").root
                let values = try root.group(atPath: ["layers", "dense", "vars"]).readFloats("0", shape: [2, 3])
                Issue.record("a file truncated to \(tenth)/10 read \(values)")
            } catch let error as ModelFileError {
                #expect(error.file == "x.h5")
            }
        }
        var corrupt = image
        for index in stride(from: 200, to: min(corrupt.count, 2000), by: 7) { corrupt[index] ^= 0x5A }
        do {
            let root = try HDF5File.open(corrupt, source: "x.h5").root
            _ = try root.group(atPath: ["layers", "dense", "vars"]).readFloats("0", shape: [2, 3])
        } catch is ModelFileError {}
    }

    @Test("fixed-length, null-padded string attributes (older Keras 2, h5py bytes) read whole")
    func fixedLengthStrings() throws {
        let directory = KerasFileFixtureTests.directory
        let fixed = try Model.load(contentsOf: directory.appending(path: "Hostile/legacy_fixed_strings.h5"))
        let original = try Model.load(contentsOf: directory.appending(path: "lstm_legacy_keras2.h5"))
        #expect(fixed.parameters == original.parameters)
        #expect(fixed.trainingConfiguration == original.trainingConfiguration)
        let file = try HDF5File.open(try Data(contentsOf: directory.appending(path: "Hostile/legacy_fixed_strings.h5")),
                                     source: "legacy_fixed_strings.h5")
        let names = try file.root.group(atPath: ["model_weights", "lstm"]).strings(attribute: "weight_names")
        #expect(names == ["lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0", "lstm/lstm_cell/bias:0"])
    }

    @Test("layer classes snake-case as Keras's to_snake_case does", arguments: [
        ("Conv2D", "conv2d"), ("MaxPooling2D", "max_pooling2d"), ("LSTM", "lstm"), ("InputLayer", "input_layer"),
        ("AttentionLayer", "attention_layer"), ("GRUCell", "gru_cell"), ("Conv2DTranspose", "conv2d_transpose"),
        ("ReLU", "re_lu"), ("My_Layer", "my__layer"), ("HTTPServer2D", "http_server2d"), ("Keras-Layer!", "keras_layer"),
    ])
    func snakeCase(_ name: String, _ expected: String) {
        #expect(kerasSnakeCase(name) == expected)
    }

    @Test("names with '/' are refused by the C layer, not walked")
    func slashNames() throws {
        let root = try HDF5File.open(try Self.sampleImage(), source: "sample.h5").root
        #expect(throws: ModelFileError.self) { try root.kind(of: "layers/dense") }
        #expect(throws: ModelFileError.self) { try root.kind(of: "") }
    }
}
