import Foundation
import GraphJITIR

extension Model {
    /// Reads a model from a file, choosing the format by its contents:
    /// - a Keras 3 `.keras` file (`model.save("m.keras")`): the model from `config.json`, its
    ///   weights, and, when `compile` is true and Keras had compiled it, the training
    ///   configuration and the optimizer's state, so `fit` resumes where Keras stopped;
    /// - a legacy `.h5` model file (Keras 2's `model.save("m.h5")`, or Keras 3's legacy writer):
    ///   the model from `model_config` and its weights; the optimizer starts fresh.
    ///
    /// Layer names are kept as Keras saved them (`dense_5`). Sequential files make a
    /// ``Sequential``. The tutorial's custom layer is read from any class named `AttentionLayer`
    /// with a `units` option, whatever package registered it.
    ///
    /// - Throws: ``ModelFileError`` naming the file, the layer and what is wrong (an unknown layer
    ///   class, an unsupported option, a misshapen weight, a truncated or hostile file), or
    ///   ``FileError`` when the file cannot be read.
    public static func load(contentsOf url: URL, compile: Bool = true) throws -> Model {
        let data = try FileIO.read(url)
        if url.pathExtension.lowercased() == "safetensors" {
            throw ModelFileError(.container, file: url.lastPathComponent,
                                 reason: "a .safetensors file holds weights only; build the model in Swift and call "
                                     + "loadWeights(from:), or load a .keras file")
        }
        return try load(data: data, fileName: url.lastPathComponent, compile: compile)
    }

    /// Reads a model from the bytes of a `.keras` or legacy `.h5` file (as ``load(contentsOf:compile:)``),
    /// naming it `fileName` in errors.
    public static func load(data: Data, fileName: String = "model.keras", compile: Bool = true) throws -> Model {
        try KerasFileReader(source: fileName, compile: compile).read(data)
    }

    /// The bytes of the model as a Keras 3 `.keras` file (as ``save(to:)`` writes it).
    public func kerasData() throws -> Data {
        try KerasFileWriter(model: self, source: name + ".keras").write()
    }

    /// Saves the model, choosing the format by the file's extension: `.keras` writes a Keras 3
    /// file (config, weights, compile config and optimizer state) that `keras.models.load_model`
    /// reads; `.safetensors` writes the weights only (as ``saveWeights(to:)``).
    ///
    /// A Keras user loading a file with the tutorial's attention layer passes the class under its
    /// registered name: `custom_objects={"GraphJIT>AttentionLayer": AttentionLayer}` (or the
    /// name the file it was read from used).
    public func save(to url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "keras":
            try FileIO.write(try KerasFileWriter(model: self, source: url.lastPathComponent).write(), to: url)
        case "safetensors":
            try saveWeights(to: url)
        case "h5":
            throw ModelFileError(.unsupported, file: url.lastPathComponent,
                                 reason: "GraphJIT reads legacy .h5 files but writes Keras 3's .keras format; save to a .keras file")
        default:
            throw ModelFileError(.unsupported, file: url.lastPathComponent,
                                 reason: "unknown extension '.\(url.pathExtension)': use .keras (the whole model) "
                                     + "or .safetensors (weights only)")
        }
    }
}
