/// The recurrent part of a Keras LSTM layer.
///
/// Inputs: the input projection plus bias for every timestep `z[B, T, 4u]` and the recurrent
/// kernel `[u, 4u]` (gate order i, f, c, o). Outputs: the hidden state `[B, u]`, or `[B, T, u]`
/// with `returnSequences`; with `exposesCellStates` also the cell state after every step
/// `[B, T, u]` (what backpropagation through time reads). The initial state is zero.
public struct LSTMOp: OperationDefinition {
    /// The layer's units and activations, and which outputs the node has.
    public let attributes: LSTMAttributes

    /// Creates the recurrence of an LSTM layer with these attributes.
    public init(attributes: LSTMAttributes) { self.attributes = attributes }

    public var mnemonic: String { "lstm" }
    public var kind: OperationKind { .recurrence }
    public var attributeDescription: String {
        "units=\(attributes.units) activation=\(attributes.activation) "
            + "recurrent_activation=\(attributes.recurrentActivation)"
            + (attributes.returnSequences ? " return_sequences" : "")
            + (attributes.exposesCellStates ? " cell_states" : "")
    }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (z, u) = (shapes[0], attributes.units)
        try require(z.count == 3 && z[2] == 4 * u, "projected inputs (batch, timesteps, \(4 * u))")
        try require(shapes[1] == [u, 4 * u], "recurrent kernel [\(u), \(4 * u)]")
        let hidden = attributes.returnSequences ? [z[0], z[1], u] : [z[0], u]
        return attributes.exposesCellStates ? [hidden, [z[0], z[1], u]] : [hidden]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (z, recurrent) = (inputs[0], inputs[1])
        let (batch, steps, units) = (z.shape[0], z.shape[1], attributes.units)
        let gates = 4 * units
        let (activation, recurrentActivation) = (attributes.activation, attributes.recurrentActivation)
        var out = [Float](repeating: 0, count: outputShapes[0].elementCount)
        var states = [Float](repeating: 0, count: attributes.exposesCellStates ? batch * steps * units : 0)
        for b in 0..<batch {
            var h = [Float](repeating: 0, count: units)
            var c = [Float](repeating: 0, count: units)
            for t in 0..<steps {
                var preactivation = [Float](repeating: 0, count: gates)
                for g in 0..<gates {
                    var sum = A(z.scalars[(b * steps + t) * gates + g])
                    for j in 0..<units { sum += A(h[j]) * A(recurrent.scalars[j * gates + g]) }
                    preactivation[g] = Float(sum)
                }
                for j in 0..<units {
                    let input = recurrentActivation(preactivation[j])
                    let forget = recurrentActivation(preactivation[units + j])
                    let candidate = activation(preactivation[2 * units + j])
                    let output = recurrentActivation(preactivation[3 * units + j])
                    c[j] = Float(A(forget) * A(c[j]) + A(input) * A(candidate))
                    h[j] = output * activation(c[j])
                }
                let row = (b * steps + t) * units
                if attributes.returnSequences { out.replaceSubrange(row..<(row + units), with: h) }
                if attributes.exposesCellStates { states.replaceSubrange(row..<(row + units), with: c) }
            }
            if !attributes.returnSequences { out.replaceSubrange((b * units)..<((b + 1) * units), with: h) }
        }
        let hidden = Tensor(shape: outputShapes[0], uncheckedScalars: out)
        return attributes.exposesCellStates ? [hidden, Tensor(shape: outputShapes[1], uncheckedScalars: states)] : [hidden]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let z = graph[node.inputs[0]].shape
        return .anchor(.recurrence(z: node.inputs[0], recurrentKernel: node.inputs[1], attributes: attributes,
                                   batch: z[0], steps: z[1]))
    }

    /// Backpropagation through time (``LSTMGradOp``), giving `dz` and `dU`.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard outputGradients.count < 2 || outputGradients[1] == nil else {
            throw GraphError.notDifferentiable(layer: node.layer, operation: "lstm with respect to its cell states")
        }
        guard let dh = outputGradients[0] else { return [nil, nil] }
        var forward = attributes
        forward.exposesCellStates = false
        let grads = try builder.applyReturningAll(Operation(LSTMGradOp(attributes: forward)),
                                                  [node.inputs[0], node.inputs[1], dh])
        return [needed[0] ? grads[0] : nil, needed[1] ? grads[1] : nil]
    }
}

/// Static attributes of an ``LSTMOp``.
public struct LSTMAttributes: Equatable, Hashable, Sendable {
    /// The hidden size `u` (Keras's `units`); the four gates make `4u` columns.
    public var units: Int
    /// The activation of the candidate and of the cell state in `h = o ⊙ act(c)` (Keras's `activation`).
    public var activation: ElementwiseActivation
    /// The activation of the input, forget and output gates (Keras's `recurrent_activation`).
    public var recurrentActivation: ElementwiseActivation
    /// Whether the first output is the hidden state of every step, `[B, T, u]`, rather than the last
    /// step's, `[B, u]` (Keras's `return_sequences`).
    public var returnSequences: Bool
    /// Whether the node has a second output: the cell state after every step.
    public var exposesCellStates: Bool

    /// Creates the attributes; the parameters are the properties of the same names (no cell-state
    /// output by default).
    public init(units: Int, activation: ElementwiseActivation, recurrentActivation: ElementwiseActivation,
                returnSequences: Bool, exposesCellStates: Bool = false) {
        self.units = units
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
        self.exposesCellStates = exposesCellStates
    }
}
