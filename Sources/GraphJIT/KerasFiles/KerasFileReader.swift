import Foundation
import GraphJITIR

/// Reads a model from a Keras file: Keras 3's `.keras` zip, or a legacy `.h5` (Keras 2's, or
/// Keras 3's legacy writer), into a GraphJIT ``Model`` with its weights and, when `compile` is
/// set and the file was compiled, its training configuration and optimizer state.
struct KerasFileReader {
    /// The file's name for error messages.
    let source: String
    let compile: Bool

    func read(_ data: Data) throws -> Model {
        if data.starts(with: [0x50, 0x4B]) { return try readKeras3(data) }
        if data.starts(with: [0x89, 0x48, 0x44, 0x46]) { return try readLegacy(data) }
        throw ModelFileError(.container, file: source,
                             reason: "neither a .keras zip archive nor an HDF5 .h5 file (its first bytes are neither)")
    }

    // MARK: Keras 3

    private func readKeras3(_ data: Data) throws -> Model {
        let archive = try KerasArchive(reading: data, source: source)
        let config = try parseJSON(archive.entries[KerasArchive.configName]!, entry: KerasArchive.configName)
        let description = try KerasModelDescription(json: config, compileConfig: nil, file: source)
        let model = try description.makeModel()
        let weights = try HDF5File.open(archive.entries[KerasArchive.weightsName]!,
                                        source: "\(source)/\(KerasArchive.weightsName)")
        let layout = try self.layout(of: description, model: model)
        try model.setParameters(try layout.readWeights(from: weights.root, expected: model.parameters), source: source)
        if compile, let compileConfig = description.compileConfig {
            var configuration = try KerasCompileConfig.configuration(from: compileConfig, outputNames: try model.outputNames(),
                                                                     file: source)
            let optimizer = try layout.readOptimizer(from: weights.root, rule: try configuration.optimizer.rule(),
                                                     expected: model.parameters)
            if let optimizer, optimizer.learningRate != Float(configuration.optimizer.learningRate) {
                // The learning rate is a variable in Keras: a callback may have changed it since compile.
                configuration = configuration.replacingOptimizer(configuration.optimizer.withLearningRate(Double(optimizer.learningRate)))
            }
            model.compile(configuration)
            // A built optimizer (its slots read, or none to read: SGD without momentum) resumes;
            // one saved before it was built (only iterations and the learning rate) starts fresh.
            if let optimizer, optimizer.isComplete {
                model.restoreOptimizer(iterations: optimizer.iterations, slots: optimizer.slots)
            }
        }
        return model
    }

    // MARK: Legacy .h5

    private func readLegacy(_ data: Data) throws -> Model {
        let file = try HDF5File.open(data, source: source)
        let root = file.root
        guard let configText = try Self.attribute("model_config", of: root) else {
            throw ModelFileError(.config, file: source, reason: "an .h5 file without a 'model_config' attribute: "
                                 + "a weights-only file (save_weights); GraphJIT needs the whole model (model.save)")
        }
        let config = try parseJSON(Data(configText.utf8), entry: "model_config")
        let training = try Self.attribute("training_config", of: root).map { try parseJSON(Data($0.utf8), entry: "training_config") }
        let description = try KerasModelDescription(json: config, compileConfig: training, file: source)
        let model = try description.makeModel()
        let weightsGroup = try root.groupIfPresent("model_weights") ?? root
        let layers = try model.topology.get().layers
        var tensors: [String: Tensor] = [:]
        for (name, layer) in layers {
            let variables = (layer as? any KerasLayer)?.kerasVariables ?? []
            guard !variables.isEmpty else { continue }
            guard let group = try weightsGroup.groupIfPresent(name) else {
                throw ModelFileError(.weights, file: source, location: "layer '\(name)'",
                                     reason: "no weights group \(weightsGroup.childPath(name))")
            }
            let names = try Self.attribute(list: "weight_names", of: group) ?? []
            guard names.count == variables.count else {
                throw ModelFileError(.weights, file: source, location: "layer '\(name)'",
                                     reason: "lists \(names.count) weights (\(names.joined(separator: ", "))), the layer has "
                                         + "\(variables.count) (\(variables.map(\.weight).joined(separator: ", ")))")
            }
            for (variable, path) in zip(variables, names) {
                let parameter = "\(name).\(variable.weight)"
                guard let shape = model.parameters[parameter]?.shape else { continue }
                let components = path.split(separator: "/").map(String.init)
                guard let last = components.last else {
                    throw ModelFileError(.weights, file: source, location: "layer '\(name)'", reason: "an empty weight name")
                }
                let holder = try group.group(atPath: Array(components.dropLast()))
                tensors[parameter] = Tensor(shape: shape, uncheckedScalars: try holder.readFloats(last, shape: shape))
            }
        }
        try model.setParameters(tensors, source: source)
        if compile, let training = description.compileConfig {
            // Legacy optimizer weights are laid out per optimizer version; the optimizer starts fresh.
            model.compile(try KerasCompileConfig.configuration(from: training, outputNames: try model.outputNames(), file: source))
        }
        return model
    }

    /// A string attribute, also when Keras split it into `name0`, `name1`, … (over 64 KB).
    static func attribute(_ name: String, of group: HDF5Group) throws -> String? {
        try attribute(list: name, of: group).map { $0.joined() }
    }

    /// The most chunks a split attribute may have.
    static let maximumAttributeChunks = 1 << 16

    /// A list-of-strings attribute (`layer_names`, `weight_names`), possibly split into chunks
    /// `name0`, `name1`, … (Keras splits attributes over 64 KB).
    static func attribute(list name: String, of group: HDF5Group) throws -> [String]? {
        if let whole = try group.strings(attribute: name) { return whole }
        var elements: [String] = []
        var chunk = 0
        while let part = try group.strings(attribute: "\(name)\(chunk)") {
            elements += part
            chunk += 1
            guard chunk < maximumAttributeChunks else {
                throw ModelFileError(.hdf5, file: group.file.source, location: group.path + "@" + name,
                                     reason: "split into more than \(maximumAttributeChunks) chunks")
            }
        }
        return chunk == 0 ? nil : elements
    }

    // MARK: Helpers

    private func layout(of description: KerasModelDescription, model: Model) throws -> KerasWeightsLayout {
        let layers = try model.topology.get().layers
        return KerasWeightsLayout(order: description.weightLayerOrder,
                                  layers: Dictionary(layers.map { ($0.name, $0.layer) }, uniquingKeysWith: { a, _ in a }))
    }

    private func parseJSON(_ data: Data, entry: String) throws -> JSON {
        do {
            return try JSON.parse(Array(data))
        } catch let error as JSON.ParseError {
            throw ModelFileError(.config, file: source, location: entry,
                                 reason: "not valid JSON at byte \(error.offset): \(error.message)")
        }
    }
}
