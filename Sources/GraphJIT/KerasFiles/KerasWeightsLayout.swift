import GraphJITIR

/// Where a model's weights live in a Keras 3 `model.weights.h5`: one group per layer of
/// `model.layers`, named by the snake-cased class with `_1`, `_2` … for repeats (never by the
/// layer's own name), holding its variables in `vars/<i>`; then `optimizer/vars/<i>`.
///
/// The same layout reads and writes, so the two cannot disagree.
struct KerasWeightsLayout {
    /// One layer's group and the variables in it.
    struct LayerGroup {
        /// The group's name under `layers/` (`dense_1`).
        let group: String
        let layerName: String
        let variables: [KerasVariable]
    }

    let groups: [LayerGroup]

    /// The layout of `model.layers` in Keras's order (class names and names), with GraphJIT's
    /// layers by name for their variables (input layers have none).
    init(order: [(className: String, name: String)], layers: [String: any Layer]) {
        var counters: [String: Int] = [:]
        groups = order.map { className, name in
            let base = kerasSnakeCase(className)
            let count = counters[base, default: 0]
            counters[base] = count + 1
            let variables = (layers[name] as? any KerasLayer)?.kerasVariables ?? []
            return LayerGroup(group: count == 0 ? base : "\(base)_\(count)", layerName: name, variables: variables)
        }
    }

    /// Every trained weight as GraphJIT names it (`dense_1.kernel`), in Keras's order: the order
    /// of `model.trainable_variables` and of the optimizer's slots.
    var trainableParameterNames: [String] {
        groups.flatMap { group in group.variables.filter(\.isTrainable).map { "\(group.layerName).\($0.weight)" } }
    }

    /// Whether some layer holds weights Keras does not train (a quantized kernel and its scale).
    var hasFrozenWeights: Bool { groups.contains { $0.variables.contains { !$0.isTrainable } } }

    // MARK: Reading

    /// Reads every layer's weights, each checked against the shape the model expects.
    func readWeights(from root: HDF5Group, expected: ParameterStore) throws -> [String: Tensor] {
        let layersGroup = try root.group("layers")
        var tensors: [String: Tensor] = [:]
        for group in groups where !group.variables.isEmpty {
            guard let layerGroup = try layersGroup.groupIfPresent(group.group) else {
                throw ModelFileError(.weights, file: root.file.source, location: "layer '\(group.layerName)'",
                                     reason: "its weights group \(layersGroup.childPath(group.group)) is missing")
            }
            // The variables the layer's groups hold must be exactly the ones it has.
            var holders: [[String]: Int] = [:]
            for variable in group.variables { holders[Array(variable.path.dropLast()), default: 0] += 1 }
            for (path, count) in holders {
                let holder = try layerGroup.group(atPath: path)
                let found = try holder.childCount()
                guard found == count else {
                    let held = group.variables.filter { Array($0.path.dropLast()) == path }.map(\.weight)
                    // Keras's quantize() also quantizes a custom layer's Dense sublayers, which add a
                    // kernel_scale there, but the custom layer's config does not say so.
                    let quantizedSublayer = found == count + 1 && !path.dropLast().isEmpty
                        ? "; one more is what a Dense sublayer quantized by Keras's quantize() holds, which the "
                            + "layer's config does not record (Keras cannot load such a file either)" : ""
                    throw ModelFileError(.weights, file: root.file.source, location: "layer '\(group.layerName)'",
                                         reason: "\(holder.path) holds \(found) variables, the layer has \(count) "
                                             + "(\(held.joined(separator: ", ")))" + quantizedSublayer)
                }
            }
            for variable in group.variables {
                let name = "\(group.layerName).\(variable.weight)"
                guard let shape = expected[name]?.shape else {
                    throw ModelFileError(.weights, file: root.file.source, location: "layer '\(group.layerName)'",
                                         reason: "the model has no weight '\(name)' for \(variable.path.joined(separator: "/"))")
                }
                let holder = try layerGroup.group(atPath: Array(variable.path.dropLast()))
                do {
                    let scalars = try holder.readFloats(variable.path.last!, shape: shape)
                    if variable.storage == .int8, let bad = scalars.first(where: { $0 != $0.rounded() || abs($0) > 127 }) {
                        throw ModelFileError(.weights, file: root.file.source, location: holder.childPath(variable.path.last!),
                                             reason: "holds \(bad), expected the integers in [-127, 127] of an int8 kernel")
                    }
                    tensors[name] = Tensor(shape: shape, uncheckedScalars: scalars)
                } catch let error as ModelFileError where error.kind == .weights {
                    throw ModelFileError(.weights, file: error.file, location: "layer '\(group.layerName)' \(variable.weight)",
                                         reason: "\(error.location ?? ""): \(error.reason)")
                }
            }
        }
        return tensors
    }

    /// The optimizer's slots in the order Keras stores them after `iterations` and the learning
    /// rate, as GraphJIT's state names: Adam and SGD build theirs per variable (`m₀ v₀ m₁ v₁ …`),
    /// RMSprop one list per slot kind (all velocities, then momentums, then average gradients).
    func optimizerSlots(_ rule: OptimizerRule) -> [(parameter: String, state: String)] {
        let names = trainableParameterNames
        switch rule {
        case .adam, .sgd:
            return names.flatMap { name in rule.slotNames.map { (name, TrainingGraph.slotName($0, of: name)) } }
        case .rmsprop:
            return rule.slotNames.flatMap { slot in names.map { ($0, TrainingGraph.slotName(slot, of: $0)) } }
        }
    }

    /// The optimizer's variables: `iterations`, the learning rate, then the slots in Keras's order
    /// (``optimizerSlots(_:)``), or `nil` when the file holds none; `isComplete` is false for an
    /// optimizer saved before it was built (its step count and learning rate only).
    func readOptimizer(from root: HDF5Group, rule: OptimizerRule, expected: ParameterStore)
        throws -> (iterations: Int64, learningRate: Float, slots: [String: Tensor], isComplete: Bool)? {
        guard let vars = try root.groupIfPresent("optimizer")?.groupIfPresent("vars") else { return nil }
        let count = try vars.childCount()
        let names = trainableParameterNames
        let slotNames = rule.slotNames
        let order = optimizerSlots(rule)
        let expectedCount = 2 + order.count
        if count == 0 { return nil }
        // Keras skips (with a warning) an optimizer whose variables do not match the compiled one:
        // what a model quantized after training always saves (the slots of its float kernels). So
        // for a model with quantized layers the optimizer starts fresh, as in Keras; elsewhere a
        // mismatch is a damaged file.
        if count != expectedCount && count != 2 && hasFrozenWeights { return nil }
        guard count == expectedCount || count == 2 else {
            throw ModelFileError(.weights, file: root.file.source, location: vars.path,
                                 reason: "holds \(count) optimizer variables; the compiled optimizer has \(expectedCount) "
                                     + "(iterations, learning rate, and \(slotNames.joined(separator: "/")) for \(names.count) weights)")
        }
        let iterations = try vars.readInteger("0")
        guard iterations >= 0, iterations < 1 << 24 else {
            throw ModelFileError(.weights, file: root.file.source, location: vars.childPath("0"),
                                 reason: "iterations \(iterations) is outside 0 ..< 2^24 (GraphJIT counts steps in float32)")
        }
        let learningRate = try vars.readFloats("1", shape: []).first!
        var slots: [String: Tensor] = [:]
        if count == expectedCount {
            for (index, entry) in order.enumerated() {
                guard let shape = expected[entry.parameter]?.shape else {
                    throw ModelFileError(.weights, file: root.file.source, location: vars.path,
                                         reason: "the model has no weight '\(entry.parameter)' for optimizer variable \(index + 2)")
                }
                slots[entry.state] = Tensor(shape: shape, uncheckedScalars: try vars.readFloats(String(index + 2), shape: shape))
            }
        }
        return (iterations, learningRate, slots, count == expectedCount)
    }

    // MARK: Writing

    /// Writes every layer's group (empty `vars` groups included, as Keras writes them) and, if
    /// given, the optimizer's variables.
    func write(_ parameters: ParameterStore, optimizer: (iterations: Int64, learningRate: Float, slots: [Tensor])?,
               to root: HDF5Group) throws {
        let layersGroup = try root.makeGroup("layers")
        for group in groups {
            let layerGroup = try layersGroup.makeGroup(group.group)
            var made: [[String]: HDF5Group] = [[]: layerGroup]
            func holder(_ path: [String]) throws -> HDF5Group {
                if let existing = made[path] { return existing }
                let parent = try holder(Array(path.dropLast()))
                let created = try parent.makeGroup(path.last!)
                made[path] = created
                return created
            }
            _ = try holder(["vars"])
            for variable in group.variables {
                let tensor = parameters["\(group.layerName).\(variable.weight)"]!
                let target = try holder(Array(variable.path.dropLast()))
                switch variable.storage {
                case .float32: try target.write(tensor.scalars, shape: tensor.shape, as: variable.path.last!)
                case .int8: try target.write(int8: tensor.scalars, shape: tensor.shape, as: variable.path.last!)
                }
            }
        }
        let optimizerVars = try root.makeGroup("optimizer").makeGroup("vars")
        if let optimizer {
            try optimizerVars.write(integer: optimizer.iterations, as: "0")
            try optimizerVars.write([optimizer.learningRate], shape: [], as: "1")
            for (index, tensor) in optimizer.slots.enumerated() {
                try optimizerVars.write(tensor.scalars, shape: tensor.shape, as: String(index + 2))
            }
        }
        _ = try root.makeGroup("vars")
    }
}
