import Foundation
import GraphJIT
import ZIPFoundation

/// The body of `FuzzKerasFile`. The first byte chooses what the rest is:
/// - `0`: a whole `.keras` file (the zip container is fuzzed);
/// - `1`: `config.json`, zipped with a valid `model.weights.h5` (the config reader and the model
///   it builds are fuzzed);
/// - `2`: `model.weights.h5`, zipped with a valid `config.json` (the HDF5 reader is fuzzed);
/// - anything else: a legacy `.h5` file.
/// A thrown error is fine; a trap or a sanitizer report is a finding. What loads must summarize
/// and save, and its saved file must load to the same weights.
public enum KerasFileFuzzer {
    /// The valid parts (made by ``prepare()`` before fuzzing starts, so that no input is blamed
    /// for their allocation). Arrays, not `Data`: `Data` keeps its storage pointer in an enum whose
    /// spare bits hide it from LeakSanitizer, which would then report the parts as leaked.
    nonisolated(unsafe) static var parts = (config: [UInt8](), weights: [UInt8]())

    /// Makes the valid parts; call once from `LLVMFuzzerInitialize`.
    public static func prepare() {
        do {
            parts = try validParts()
        } catch {
            fatalError("cannot write the fuzzer's valid .keras parts: \(error)")
        }
    }

    /// `config.json` and `model.weights.h5` of ``model()``.
    static func validParts() throws -> (config: [UInt8], weights: [UInt8]) {
        let archive = try Archive(data: try model().kerasData(), accessMode: .read)
        func entry(_ name: String) throws -> [UInt8] {
            var bytes: [UInt8] = []
            _ = try archive.extract(archive[name]!) { bytes += $0 }
            return bytes
        }
        return (try entry("config.json"), try entry("model.weights.h5"))
    }

    /// The model whose parts the fuzzer mutates.
    public static func model() throws -> Model {
        let image = Input(shape: [5, 5, 2], name: "image")
        let sequence = Input(shape: [3, 2], name: "sequence")
        let a = Flatten()(MaxPooling2D(poolSize: [2, 2], padding: .same)(Conv2D(filters: 2, kernelSize: [3, 3], activation: .relu)(image)))
        let b = AttentionLayer(units: 2)(LSTM(units: 3, returnSequences: true)(sequence))
        let joined = Concatenate()([a, Dropout(rate: 0.1)(Dense(units: 3, activation: .tanh)(b))])
        let model = Model(inputs: [image, sequence], outputs: [Softmax()(Dense(units: 2)(joined)), Dense(units: 2, activation: .softmax)(joined)],
                          seed: 1)
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        return model
    }

    public static func load(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let rest = Data(bytes.dropFirst())
        let file: Data
        switch mode {
        case 0: file = rest
        case 1: guard let zipped = zip(config: rest, weights: Data(parts.weights)) else { return }; file = zipped
        case 2: guard let zipped = zip(config: Data(parts.config), weights: rest) else { return }; file = zipped
        default: file = rest
        }
        guard let model = try? Model.load(data: file, fileName: "fuzz.keras") else { return }
        do {
            _ = try model.summary()
            let again = try Model.load(data: try model.kerasData(), fileName: "again.keras")
            let same = model.parameters.names.allSatisfy { name in
                again.parameters[name].map { ReaderFuzzers.sameBits($0, model.parameters[name]!) } ?? false
            }
            ReaderFuzzers.check(same, "a loaded model's weights changed through save and load")
        } catch {
            // A loaded model may still be refused later (a shape that only the graph checks); a
            // model that saved must load again.
            if let modelError = error as? ModelFileError, modelError.file == "again.keras" {
                fatalError("a model GraphJIT saved does not load: \(modelError)")
            }
        }
    }

    static func zip(config: Data, weights: Data) -> Data? {
        guard let archive = try? Archive(accessMode: .create) else { return nil }
        for (name, data) in [("config.json", config), ("model.weights.h5", weights)] {
            try? archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count)) { position, size in
                data.subdata(in: Int(position) ..< Int(position) + size)
            }
        }
        return archive.data
    }

    /// Seeds: the valid parts in each mode, and the valid file whole.
    static func seeds() throws -> [(String, [UInt8])] {
        let whole = try model().kerasData()
        let parts = try validParts()
        return [("whole.keras", [0] + Array(whole)), ("config.json", [1] + parts.config),
                ("weights.h5", [2] + parts.weights)]
    }

}
