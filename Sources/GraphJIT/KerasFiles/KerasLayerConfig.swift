import GraphJITIR

/// One layer's entry in a Keras model config (`{"class_name", "config": {...}}`), with typed
/// accessors that throw a ``ModelFileError`` naming the file, the layer and the option.
struct KerasLayerConfig {
    let file: String
    let className: String
    /// The layer's name as Keras saved it (`dense_5`).
    let name: String
    /// The layer's `config` object.
    let config: JSON

    /// A value of the config, if present and not `null`.
    func value(_ key: String) -> JSON? {
        guard let value = config[key], !value.isNull else { return nil }
        return value
    }

    func malformed(_ key: String, _ expected: String) -> ModelFileError {
        ModelFileError(.config, file: file, location: "layer '\(name)' (\(className))",
                       reason: "option '\(key)' is \(config[key]?.summary ?? "missing"), expected \(expected)")
    }

    func unsupported(_ key: String, _ what: String) -> ModelFileError {
        ModelFileError(.unsupported, file: file, location: "layer '\(name)' (\(className))",
                       reason: "option '\(key)' = \(config[key]?.summary ?? "null") is not supported: \(what)")
    }

    func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = value(key) else {
            if let fallback { return fallback }
            throw malformed(key, "an integer")
        }
        // Keras writes some integers as one-element lists (`axis: [1]`).
        if let elements = value.arrayValue, elements.count == 1, let single = elements[0].integerValue { return single }
        guard let integer = value.integerValue else { throw malformed(key, "an integer") }
        return integer
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let value = value(key) else { return fallback }
        guard let double = value.doubleValue, double.isFinite else { throw malformed(key, "a finite number") }
        return double
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = value(key) else { return fallback }
        guard let bool = value.boolValue else { throw malformed(key, "true or false") }
        return bool
    }

    func string(_ key: String, default fallback: String) throws -> String {
        guard let value = value(key) else { return fallback }
        guard let string = value.stringValue else { throw malformed(key, "a string") }
        return string
    }

    /// Two extents: Keras accepts one integer for both (`kernel_size: 3`) or a pair.
    func pair(_ key: String, default fallback: [Int]? = nil) throws -> [Int] {
        guard let value = value(key) else {
            if let fallback { return fallback }
            throw malformed(key, "an integer or a pair of integers")
        }
        if let single = value.integerValue { return [single, single] }
        guard let elements = value.arrayValue, elements.count == 2,
              let values = Optional(elements.compactMap(\.integerValue)), values.count == 2
        else { throw malformed(key, "an integer or a pair of integers") }
        return values
    }

    func padding(_ key: String = "padding") throws -> Padding {
        let text = try string(key, default: "valid")
        guard let padding = Padding(rawValue: text.lowercased()) else { throw unsupported(key, "padding is 'valid' or 'same'") }
        return padding
    }

    /// An activation by its Keras name (Keras 3 writes a string; a serialized function object with
    /// `config.name` or `class_name` is read too).
    func activation(_ key: String = "activation", default fallback: String = "linear") throws -> ActivationFunction {
        let name: String
        if let value = value(key) {
            if let string = value.stringValue {
                name = string
            } else if let nested = value["config"]?.stringValue ?? value["config"]?["name"]?.stringValue
                        ?? value["class_name"]?.stringValue {
                name = nested
            } else {
                throw malformed(key, "an activation name")
            }
        } else {
            name = fallback
        }
        guard let function = ActivationFunction(kerasName: name) else {
            throw unsupported(key, "GraphJIT's activations are \(ActivationFunction.allCases.map(\.kerasName).joined(separator: ", "))")
        }
        return function
    }

    /// Refuses an option unless it is absent, `null` or `expected`.
    func require(_ key: String, isOneOf expected: [JSON], _ what: String) throws {
        guard let value = value(key) else { return }
        let text = JSON.serialize(value)
        guard expected.contains(where: { JSON.serialize($0) == text }) else { throw unsupported(key, what) }
    }

    /// Refuses an option unless it is absent or `null` (regularizers, constraints, ...).
    func requireNull(_ keys: [String], _ what: String) throws {
        for key in keys where value(key) != nil { throw unsupported(key, what) }
    }

    /// Refuses a data format other than channels-last, the only layout GraphJIT computes.
    func requireChannelsLast() throws {
        try require("data_format", isOneOf: [.string("channels_last")], "GraphJIT computes NHWC (channels_last) only")
    }
}

extension ActivationFunction {
    /// The name Keras serializes the activation as.
    var kerasName: String { description }
}
