import Foundation

/// A model's weights by name (`conv2d.kernel`, `lstm.recurrent_kernel`, ...), in creation order.
public struct ParameterStore: Equatable, Sendable {
    /// Parameter names in the order the model creates them.
    public private(set) var names: [String]
    private var tensors: [String: Tensor]

    /// Creates a store from named tensors; `order` fixes the iteration order.
    package init(order: [String], tensors: [String: Tensor]) {
        self.names = order
        self.tensors = tensors
    }

    /// The tensor named `name`, if any.
    public subscript(name: String) -> Tensor? { tensors[name] }

    /// The total number of scalars.
    public var scalarCount: Int { tensors.values.reduce(0) { $0 + $1.elementCount } }

    /// All tensors keyed by name.
    public var dictionary: [String: Tensor] { tensors }

    /// Replaces one tensor with a new one of the same shape.
    package mutating func update(_ name: String, to tensor: Tensor) throws {
        guard let existing = tensors[name] else {
            throw WeightsError.nameMismatch(source: "an update", missing: [], unexpected: [name])
        }
        guard existing.shape == tensor.shape else {
            throw WeightsError.shapeMismatch(source: "an update", name: name, expected: existing.shape,
                                             actual: tensor.shape)
        }
        tensors[name] = tensor
    }

    /// Replaces every tensor with the ones in `new`, which must hold exactly the same names and shapes.
    package mutating func replace(with new: [String: Tensor], source: String) throws {
        let missing = names.filter { new[$0] == nil }
        let extra = new.keys.filter { tensors[$0] == nil }.sorted()
        guard missing.isEmpty, extra.isEmpty else {
            throw WeightsError.nameMismatch(source: source, missing: missing, unexpected: extra)
        }
        for name in names where new[name]!.shape != tensors[name]!.shape {
            throw WeightsError.shapeMismatch(source: source, name: name,
                                             expected: tensors[name]!.shape, actual: new[name]!.shape)
        }
        tensors = new
    }
}

/// Errors loading weights into a model.
public enum WeightsError: Error, Equatable, CustomStringConvertible {
    /// The weights' names are not the model's: `source` says where the weights came from (a file
    /// name, `"the given tensors"`), `missing` lists the model's names the weights lack, `unexpected`
    /// the names the weights hold that the model lacks.
    case nameMismatch(source: String, missing: [String], unexpected: [String])
    /// A weight of the wrong shape: `source` says where the weights came from, `name` is the
    /// weight's full name, `expected` the model's shape for it and `actual` the shape given.
    case shapeMismatch(source: String, name: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .nameMismatch(source, missing, unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(Self.list(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected \(Self.list(unexpected))") }
            return "weights from \(source) do not match the model: " + parts.joined(separator: "; ")
        case let .shapeMismatch(source, name, expected, actual):
            return "weights from \(source): '\(name)' has shape \(actual), the model expects \(expected)"
        }
    }

    /// At most ten names (each cut to 80 characters), then how many more: a message stays readable
    /// whatever a file holds.
    static func list(_ names: [String]) -> String {
        let shown = names.prefix(10).map { $0.count > 80 ? $0.prefix(80) + "…" : $0 }.joined(separator: ", ")
        return names.count > 10 ? "\(shown) and \(names.count - 10) more" : shown
    }
}

extension ParameterStore: CustomStringConvertible {
    /// The weights' names and shapes, not their values (`print(model.parameters)` stays short).
    public var description: String {
        let total = names.reduce(0) { $0 + (tensors[$1]?.elementCount ?? 0) }
        let list = names.map { "\($0) \(tensors[$0]?.shape ?? [])" }.joined(separator: ", ")
        return "ParameterStore(\(names.count) weights, \(total) values: \(list))"
    }
}
