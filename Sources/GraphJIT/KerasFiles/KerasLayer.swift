import GraphJITIR

/// A layer that Keras model files can hold: its Keras class, how its config reads and writes, and
/// where `.keras` files keep its weights. Each layer's conformance is the one place that maps it.
protocol KerasLayer: Layer {
    /// Keras's class name, the `class_name` of the layer's config entry (`Dense`).
    static var kerasClassName: String { get }
    /// The layer described by a config entry; refuses options GraphJIT does not compute.
    static func make(from config: KerasLayerConfig) throws -> Self
    /// The layer's own options as Keras's `get_config` writes them (the writer adds `name`,
    /// `trainable` and `dtype`).
    func kerasOptions() throws -> [(key: String, value: JSON)]
    /// The layer's weights in Keras's `layer.weights` order (the order of a legacy `.h5`'s
    /// `weight_names` and of the optimizer's slots), with their place in a `.keras` file.
    var kerasVariables: [KerasVariable] { get }
    /// The layer's `dtype` entry: Keras's float32 policy, or a quantized layer's policy.
    var kerasDTypePolicy: JSON { get }
}

extension KerasLayer {
    var kerasDTypePolicy: JSON { KerasFileWriter.dtypePolicy }
}

/// One weight of a layer as Keras stores it.
struct KerasVariable: Equatable {
    /// GraphJIT's weight name under the layer (`kernel`, `W.bias`): the parameter is `<layer>.<weight>`.
    let weight: String
    /// The dataset's path below the layer's group in `model.weights.h5` (`vars/0`, `cell/vars/1`).
    let path: [String]
    /// Whether Keras trains it (and keeps optimizer slots for it): a quantized kernel and its
    /// scale are not trained.
    var isTrainable = true
    /// How the dataset stores its values.
    var storage: Storage = .float32

    /// A dataset's element type.
    enum Storage: Equatable {
        case float32
        /// A quantized kernel's int8 values.
        case int8
    }

    /// The weights of a layer that keeps them in its own `vars` group, in order.
    static func ownVariables(_ weights: [String], under prefix: [String] = []) -> [KerasVariable] {
        weights.enumerated().map { KerasVariable(weight: $0.element, path: prefix + ["vars", String($0.offset)]) }
    }
}

/// The layer classes GraphJIT reads from Keras files, by Keras class name.
enum KerasLayerRegistry {
    static var types: [any KerasLayer.Type] {
        [Dense.self, Conv2D.self, MaxPooling2D.self, Flatten.self, LSTM.self, Dropout.self, Activation.self,
         Softmax.self, Concatenate.self, AttentionLayer.self]
    }

    static func type(named className: String) -> (any KerasLayer.Type)? {
        types.first { $0.kerasClassName == className }
    }

    static var supportedNames: String { (["InputLayer"] + types.map { $0.kerasClassName }).joined(separator: ", ") }
}

/// Keras's `to_snake_case` (keras/src/utils/naming.py): the group name of a layer class in
/// `model.weights.h5` (`MaxPooling2D` → `max_pooling2d`, `LSTM` → `lstm`, `ReLU` → `re_lu`).
func kerasSnakeCase(_ name: String) -> String {
    // The same three substitutions, in order: drop `\W+`; `(.)([A-Z][a-z]+)` → `\1_\2`;
    // `([a-z])([A-Z])` → `\1_\2`; then lowercase.
    var text = name.replacing(#/\W+/#, with: "")
    text = text.replacing(#/(.)([A-Z][a-z]+)/#) { "\($0.output.1)_\($0.output.2)" }
    text = text.replacing(#/([a-z])([A-Z])/#) { "\($0.output.1)_\($0.output.2)" }
    return text.lowercased()
}
