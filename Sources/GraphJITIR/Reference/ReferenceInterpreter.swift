import Foundation

/// Runs a ``Graph`` op by op in plain Swift: the oracle every JIT result is checked against.
///
/// Each operation's own reference implementation (``OperationDefinition/evaluate(_:outputShapes:accumulator:)``):
/// straightforward loops, no fusion, no reuse of buffers. Products and sums accumulate in `Double`
/// by default (``Accumulation/double``) so that the reference is at least as accurate as any
/// engine it judges; ``Accumulation/float`` accumulates in `Float` as a float32 engine would.
///
/// ## Non-finite values and float32 overflow
///
/// The reference is a float32 model whose every operation is *exactly rounded*: each output element
/// is the exact value of the operation on its `Float` operands, rounded once to `Float`. Outputs
/// are `Float` tensors, so nothing escapes the float range between operations: a sum, product or
/// activation whose exact value lies beyond `±Float.greatestFiniteMagnitude` becomes `±inf`, as
/// in any float32 engine (TensorFlow, the JIT), and the next operation sees that infinity. NaN and
/// `±inf` operands follow IEEE arithmetic (`0 · inf = NaN`, `inf - inf = NaN`), then the rules
/// Keras 3.15.1 / TensorFlow 2.21 defines for each operation, which the JIT's C runtime follows on
/// every path (measured; the table is in `Tests/KerasFixtures/README.md`):
/// - relu keeps NaN; sigmoid, tanh saturate; gelu (both forms) and silu of `-inf` are NaN;
/// - max pooling skips NaN taps and starts at `-greatestFiniteMagnitude` (TensorFlow's `lowest()`),
///   so a window of NaN and `-inf` taps gives `-greatestFiniteMagnitude`, never NaN or `-inf`;
/// - softmax skips NaN in its maximum; a row with a `+inf` or NaN entry is NaN there and 0
///   elsewhere; a row of `-inf` is NaN.
///
/// What the reference deliberately does not model: a float32 *partial* sum that overflows although
/// the exact sum is in range (say `3e38 + 3e38 - 3e38`). Whether that happens depends on the
/// summation order, which differs between TensorFlow's oneDNN kernels (its result for the tutorial
/// CNN on an image of `3e38` changes with the batch size), the JIT's register blocking and
/// ``Accumulation/float``'s sequential loop: there is no float32 answer to agree on, so the `Double`
/// reference gives the exactly rounded one, and tests use inputs whose non-finite pattern does not
/// depend on the order (the fixture script checks that).
public struct ReferenceInterpreter: Sendable {
    /// The type sums and products accumulate in.
    public enum Accumulation: Sendable {
        /// Sums and products in `Float`, as a float32 engine computes them.
        case float
        /// Sums and products in `Double` (the default): at least as accurate as any engine it judges.
        case double
    }

    /// The type sums and products accumulate in.
    public var accumulation: Accumulation

    /// Creates an interpreter that accumulates in `accumulation` (`Double` by default).
    public init(accumulation: Accumulation = .double) {
        self.accumulation = accumulation
    }

    /// Evaluates `graph` on `inputs` (full shapes, batch first) with the given weights. States
    /// the graph reads are taken from `states` (zeros when absent); updates are not applied.
    public func run(_ graph: Graph, inputs: [Tensor], parameters: ParameterStore,
                    states: [String: Tensor] = [:]) throws -> [Tensor] {
        try evaluate(graph, inputs: inputs, parameters: parameters, states: states).outputs
    }

    /// One call of a graph that updates persistent values: evaluates it, then replaces each
    /// updated parameter in `parameters` and each updated state in `states` (states the graph
    /// declares start at zero), as the compiled model's call does.
    public func step(_ graph: Graph, inputs: [Tensor], parameters: inout ParameterStore,
                     states: inout [String: Tensor]) throws -> [Tensor] {
        let result = try evaluate(graph, inputs: inputs, parameters: parameters, states: states)
        for spec in graph.states where states[spec.name] == nil {
            states[spec.name] = Tensor.zeros(spec.shape)
        }
        for (update, tensor) in zip(graph.updates, result.updated) {
            switch graph[update.target].role {
            case let .parameter(name): try parameters.update(name, to: tensor)
            case let .state(name): states[name] = tensor
            case .input, .computed: break  // verification admits only persistent targets
            }
        }
        return result.outputs
    }

    private func evaluate(_ graph: Graph, inputs: [Tensor], parameters: ParameterStore,
                          states: [String: Tensor]) throws -> (outputs: [Tensor], updated: [Tensor]) {
        switch accumulation {
        case .double:
            try evaluate(graph, inputs: inputs, parameters: parameters, states: states, accumulator: Double.self)
        case .float:
            try evaluate(graph, inputs: inputs, parameters: parameters, states: states, accumulator: Float.self)
        }
    }

    private func evaluate<A: BinaryFloatingPoint & Sendable>(
        _ graph: Graph, inputs: [Tensor], parameters: ParameterStore, states: [String: Tensor], accumulator: A.Type
    ) throws -> (outputs: [Tensor], updated: [Tensor]) {
        try graph.validate(inputs: inputs)
        // The interpreter keeps every value: all of them must fit in the budget.
        let floats = graph.values.reduce(0) { Int.saturatingSum($0, $1.shape.elementCount) }
        try MemoryBudget.check(MemoryBudget.bytes(ofFloats: floats),
                               for: "the reference run at batch size \(graph.batchSize) (every value of the graph)")
        var values = [Tensor?](repeating: nil, count: graph.values.count)
        for (id, tensor) in zip(graph.inputs, inputs) { values[id.index] = tensor }
        for spec in graph.parameters {
            guard let tensor = parameters[spec.name] else {
                throw WeightsError.nameMismatch(source: "the model's parameters", missing: [spec.name], unexpected: [])
            }
            guard tensor.shape == spec.shape else {
                throw WeightsError.shapeMismatch(source: "the model's parameters", name: spec.name,
                                                 expected: spec.shape, actual: tensor.shape)
            }
            values[spec.value.index] = tensor
        }
        for spec in graph.states {
            let tensor = states[spec.name] ?? Tensor.zeros(spec.shape)
            guard tensor.shape == spec.shape else {
                throw WeightsError.shapeMismatch(source: "the model's states", name: spec.name,
                                                 expected: spec.shape, actual: tensor.shape)
            }
            values[spec.value.index] = tensor
        }
        for node in graph.nodes {
            let arguments = node.inputs.map { values[$0.index]! }
            let shapes = node.outputs.map { graph[$0].shape }
            let results = node.operation.definition.evaluate(arguments, outputShapes: shapes, accumulator: A.self)
            for (output, result) in zip(node.outputs, results) { values[output.index] = result }
        }
        return (graph.outputs.map { values[$0.index]! }, graph.updates.map { values[$0.value.index]! })
    }
}

// MARK: - Input validation

extension Graph {
    /// Throws unless `inputs` match the graph's input shapes exactly.
    public func validate(inputs tensors: [Tensor]) throws {
        guard tensors.count == inputs.count else {
            throw GraphError.inputCountMismatch(expected: inputs.count, actual: tensors.count)
        }
        for (position, (id, tensor)) in zip(inputs, tensors).enumerated() where tensor.shape != self[id].shape {
            throw GraphError.inputShapeMismatch(input: inputNames[position], expected: self[id].shape,
                                                actual: tensor.shape)
        }
    }
}
